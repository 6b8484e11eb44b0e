// The two study programs, run small: every file of their report is written, the tables
// have the documented columns, the HDF5 file agrees with the CSV, and every SVG and HTML
// document is well-formed XML whose images all exist.
#include "fanin/study.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "fanin/plot.h"
#include "fanin/recorder.h"
#include "test_util.h"
#include "xml_util.h"

namespace fanin {
namespace {

namespace fs = std::filesystem;
using testing::ReadFile;

std::vector<std::vector<std::string>> ReadCsv(const fs::path& path) {
  // Our CSVs quote only the initializer names, whose commas sit inside parentheses.
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(ReadFile(path));
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> row(1);
    bool quoted = false;
    for (char c : line) {
      if (c == '"') {
        quoted = !quoted;
      } else if (c == ',' && !quoted) {
        row.emplace_back();
      } else {
        row.back() += c;
      }
    }
    rows.push_back(row);
  }
  return rows;
}

// The study programs sit next to this test binary (CMAKE_RUNTIME_OUTPUT_DIRECTORY).
fs::path ProgramPath(const std::string& name) {
  return fs::read_symlink("/proc/self/exe").parent_path() / name;
}

class StudyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    out_ = fs::temp_directory_path() /
           ("fanin_study_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(out_);
  }
  void TearDown() override { fs::remove_all(out_); }

  // Runs a study program; its output goes to a log file shown on failure.
  void Run(const std::string& program, const std::string& arguments) {
    const fs::path path = ProgramPath(program);
    if (!fs::exists(path)) GTEST_SKIP() << path << " is not built (FANIN_BUILD_EXAMPLES=OFF?)";
    const fs::path log = fs::temp_directory_path() / (program + "_" + std::to_string(getpid()));
    const std::string command = path.string() + " " + arguments + " --out " + out_.string() +
                                " --device cpu > " + log.string() + " 2>&1";
    const int status = std::system(command.c_str());
    const std::string output = ReadFile(log);
    fs::remove(log);
    ASSERT_EQ(status, 0) << command << "\n" << output;
  }

  // Every SVG and the index parse as XML, and every image the index shows exists.
  void ExpectWellFormedReport() {
    int svgs = 0;
    for (const auto& entry : fs::directory_iterator(out_)) {
      if (entry.path().extension() != ".svg") continue;
      ++svgs;
      std::unique_ptr<testing::Node> root;
      ASSERT_NO_THROW(root = testing::ParseXml(ReadFile(entry.path()))) << entry.path();
      EXPECT_EQ(root->name, "svg") << entry.path();
    }
    EXPECT_GT(svgs, 0);
    std::unique_ptr<testing::Node> html;
    ASSERT_NO_THROW(html = testing::ParseXml(ReadFile(out_ / "index.html")));
    EXPECT_EQ(html->name, "html");
    const auto images = testing::Find(*html, "img");
    EXPECT_FALSE(images.empty());
    for (const testing::Node* image : images) {
      EXPECT_TRUE(fs::exists(out_ / image->attributes.at("src"))) << image->attributes.at("src");
    }
    for (const testing::Node* link : testing::Find(*html, "a")) {
      EXPECT_TRUE(fs::exists(out_ / link->attributes.at("href"))) << link->attributes.at("href");
    }
  }

  fs::path out_;
};

const std::vector<std::string> kConfigs = {
    "sigmoid_normal_0.01",       "sigmoid_normal_0.1",
    "sigmoid_normal_1",          "tanh_normal_0.01",
    "tanh_normal_0.1",           "tanh_normal_1",
    "tanh_glorot_normal",        "tanh_glorot_uniform",
    "relu_glorot_normal",        "relu_he_normal",
    "relu_he_uniform",           "tanh_glorot_normal_uncorrected",
    "relu_he_normal_uncorrected"};

TEST_F(StudyTest, InitStudyWithTwoSeedsWritesTheWholeReport) {
  Run("init_study", "--seeds 2");
  if (IsSkipped() || HasFatalFailure()) return;

  for (const char* file :
       {"ratios.csv", "layer_stats.csv", "runs.h5", "ratios.svg", "verdicts.md", "index.html"}) {
    EXPECT_TRUE(fs::exists(out_ / file)) << file;
  }
  for (const std::string& config : kConfigs) {
    EXPECT_TRUE(fs::exists(out_ / (config + ".svg"))) << config;
  }

  const auto ratios = ReadCsv(out_ / "ratios.csv");
  ASSERT_EQ(ratios.size(), 1 + kConfigs.size() * 6);
  EXPECT_EQ(ratios[0],
            (std::vector<std::string>{"config", "activation", "initializer", "layer", "n_seeds",
                                      "ratio_median", "ratio_p10", "ratio_p90"}));
  EXPECT_EQ(ratios[1][0], "sigmoid_normal_0.01");
  EXPECT_EQ(ratios[1][2], "normal(0,0.01)");
  EXPECT_EQ(ratios[1][3], "h1");
  EXPECT_EQ(ratios[6][3], "out");
  EXPECT_EQ(ratios[1][4], "2");

  const auto stats = ReadCsv(out_ / "layer_stats.csv");
  ASSERT_EQ(stats.size(), ratios.size());
  const std::vector<std::string> keys(stats[0].begin(), stats[0].begin() + 5);
  EXPECT_EQ(keys, std::vector<std::string>(ratios[0].begin(), ratios[0].begin() + 5));
  for (const char* column : {"z_mean", "z_std", "activation_std", "kernel_std", "kernel_grad_mean",
                             "kernel_grad_std", "bias_grad_std"}) {
    EXPECT_NE(std::find(stats[0].begin(), stats[0].end(), column), stats[0].end()) << column;
  }

  // The HDF5 file holds every run, and its ratios give the CSV's medians.
  const std::string h5 = (out_ / "runs.h5").string();
  EXPECT_EQ(ListGroups(h5), kConfigs);
  std::vector<double> h1_ratios;
  for (const char* seed : {"seed_0", "seed_1"}) {
    const RecordedRun run = ReadRun(h5, std::string("tanh_glorot_normal/") + seed);
    ASSERT_EQ(run.steps.size(), 1u);
    ASSERT_EQ(run.steps[0].layers.size(), 6u);
    EXPECT_EQ(*run.attribute("activation"), AttributeValue(std::string("tanh")));
    h1_ratios.push_back(run.steps[0].layers[0].grad_ratio);
  }
  const double median = plot::QuantilesOf(h1_ratios).median;
  const auto row = std::find_if(ratios.begin(), ratios.end(), [](const auto& r) {
    return r[0] == "tanh_glorot_normal" && r[3] == "h1";
  });
  ASSERT_NE(row, ratios.end());
  EXPECT_NEAR(std::stod((*row)[5]), median, 1e-5 * median);

  const std::string verdicts = ReadFile(out_ / "verdicts.md");
  for (const char* claim : {"## (a)", "## (b)", "## (c)", "## (d)", "## (e)"}) {
    EXPECT_NE(verdicts.find(claim), std::string::npos) << claim;
  }
  ExpectWellFormedReport();
}

TEST_F(StudyTest, ActivationStudyWritesItsReport) {
  Run("activation_study", "--seeds 2 --epochs 4");
  if (IsSkipped() || HasFatalFailure()) return;

  const auto table = ReadCsv(out_ / "epochs_to_100.csv");
  ASSERT_EQ(table.size(), 1u + 3 * 2);
  EXPECT_EQ(table[0],
            (std::vector<std::string>{"activation", "seed", "epoch_100pct", "final_loss"}));
  EXPECT_EQ(table[1][0], "sigmoid");
  EXPECT_EQ(table[6][0], "relu");
  for (const char* view : {"sigmoid_epoch_0.svg", "tanh_epoch_0.svg", "relu_epoch_0.svg",
                           "epochs_to_100.svg", "learning_curves.svg"}) {
    EXPECT_TRUE(fs::exists(out_ / view)) << view;
  }
  const RecordedRun run = ReadRun((out_ / "runs.h5").string(), "tanh/seed_1");
  EXPECT_EQ(run.epochs.size(), 4u);
  EXPECT_EQ(run.weights.size(), 5u);  // at initialization and after each epoch
  ExpectWellFormedReport();
}

TEST_F(StudyTest, BadOptionsAreRejectedWithUsage) {
  const fs::path path = ProgramPath("init_study");
  if (!fs::exists(path)) GTEST_SKIP() << path << " is not built";
  const std::string quiet = " > /dev/null 2>&1";
  EXPECT_NE(std::system((path.string() + " --seeds 0" + quiet).c_str()), 0);
  EXPECT_NE(std::system((path.string() + " --bogus 1" + quiet).c_str()), 0);
  EXPECT_NE(std::system((path.string() + " --device tpu --out " + out_.string() + quiet).c_str()),
            0);
  EXPECT_EQ(std::system((path.string() + " --help" + quiet).c_str()), 0);
}

// What moves a distributed study's results between ranks must keep every bit: NaN, -0, a
// denormal, an absent tensor, a string holding a NUL.
TEST(StudyEncodingTest, RoundTripsEveryBit) {
  TensorStats z{.count = 3,
                .nan_count = 1,
                .mean = -0.0,
                .std = std::numeric_limits<double>::denorm_min(),
                .min = -1.5,
                .max = std::numeric_limits<double>::infinity(),
                .hist_lo = -1.5f,
                .hist_hi = 0.25f,
                .histogram = {1, 0, 2}};
  StepStats step{.context = {.step = 7, .epoch = -1, .batch = 3}};
  step.layers.resize(2);
  step.layers[0].name = std::string(
      "h\0"
      "1",
      3);
  step.layers[0].tensors[static_cast<size_t>(TensorRole::kZ)] = z;
  step.layers[0].grad_ratio = 0.1;
  step.layers[1].name = "act";  // no tensors, grad_ratio NaN
  const EpochLogs logs{.epoch = 2, .loss = 0.3, .accuracy = 1.0 / 3};
  const std::vector<std::vector<float>> weights = {{1e-40f, -0.0f}, {}};

  study::Encoder encoder;
  encoder.Put(std::vector<StepStats>{step});
  encoder.Put(logs);
  encoder.Put(weights);
  encoder.Put(int64_t{-5});
  study::Decoder decoder(encoder.bytes());
  const auto steps = decoder.Next<std::vector<StepStats>>();
  const auto logs_back = decoder.Next<EpochLogs>();
  const auto weights_back = decoder.Next<std::vector<std::vector<float>>>();
  EXPECT_EQ(decoder.Next<int64_t>(), -5);
  EXPECT_TRUE(decoder.AtEnd());

  const auto bits = [](double v) { return std::bit_cast<uint64_t>(v); };
  ASSERT_EQ(steps.size(), 1u);
  const StepStats& back = steps[0];
  EXPECT_EQ(back.context.step, 7);
  EXPECT_EQ(back.context.epoch, -1);
  EXPECT_EQ(back.context.batch, 3);
  ASSERT_EQ(back.layers.size(), 2u);
  EXPECT_EQ(back.layers[0].name, step.layers[0].name);
  EXPECT_EQ(back.layers[0].grad_ratio, 0.1);
  const std::optional<TensorStats>& z_back = back.layers[0][TensorRole::kZ];
  ASSERT_TRUE(z_back.has_value());
  EXPECT_EQ(z_back->count, 3);
  EXPECT_EQ(z_back->nan_count, 1);
  EXPECT_EQ(bits(z_back->mean), bits(-0.0));
  EXPECT_EQ(bits(z_back->std), bits(z.std));
  EXPECT_EQ(z_back->max, z.max);
  EXPECT_EQ(z_back->hist_lo, -1.5f);
  EXPECT_EQ(z_back->hist_hi, 0.25f);
  EXPECT_EQ(z_back->histogram, z.histogram);
  EXPECT_FALSE(back.layers[0][TensorRole::kKernel].has_value());
  EXPECT_EQ(back.layers[1].name, "act");
  EXPECT_TRUE(std::isnan(back.layers[1].grad_ratio));
  for (TensorRole role : kAllTensorRoles) EXPECT_FALSE(back.layers[1][role].has_value());
  EXPECT_EQ(logs_back.epoch, 2);
  EXPECT_EQ(bits(logs_back.accuracy), bits(logs.accuracy));
  EXPECT_TRUE(std::isnan(logs_back.val_loss));
  ASSERT_EQ(weights_back.size(), 2u);
  EXPECT_EQ(std::bit_cast<uint32_t>(weights_back[0][0]), std::bit_cast<uint32_t>(1e-40f));
  EXPECT_EQ(std::bit_cast<uint32_t>(weights_back[0][1]), std::bit_cast<uint32_t>(-0.0f));
  EXPECT_TRUE(weights_back[1].empty());

  // Bytes that end early are an error, not garbage.
  study::Decoder truncated(std::string_view(encoder.bytes()).substr(0, 20));
  EXPECT_THROW(truncated.Next<std::vector<StepStats>>(), std::runtime_error);
}

// A process alone (no launcher) runs every run itself and gets them back in order.
TEST(StudyEncodingTest, RunOverRanksAloneReturnsEveryRunInOrder) {
  const distributed::World world;
  std::vector<int64_t> ran;
  const std::vector<std::string> runs = study::RunOverRanks(world, 4, "test", [&ran](int64_t i) {
    ran.push_back(i);
    return std::string(static_cast<size_t>(i), 'x');
  });
  EXPECT_EQ(ran, (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(runs, (std::vector<std::string>{"", "x", "xx", "xxx"}));
}

}  // namespace
}  // namespace fanin
