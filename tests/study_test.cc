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
#include "fanin/run_store.h"
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

using testing::ProgramPath;

class StudyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    out_ = fs::temp_directory_path() /
           ("fanin_study_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(out_);
  }
  void TearDown() override {
    fs::remove_all(out_);
    fs::remove_all(out_.string() + ".staging");
  }

  // Runs a study program (into `out`, by default out_) and returns its exit status; its
  // output lands in output_. `limit_kb` > 0 caps the size of the files it writes (a full
  // disk, as `ulimit -f` makes it: a write past the limit fails with EFBIG).
  int Launch(const std::string& program, const std::string& arguments, fs::path out = {},
             int limit_kb = 0) {
    const fs::path path = ProgramPath(program);
    if (out.empty()) out = out_;
    const fs::path log = fs::temp_directory_path() / (program + "_" + std::to_string(getpid()));
    std::string command =
        path.string() + " " + arguments + " --out " + out.string() + " > " + log.string() + " 2>&1";
    if (limit_kb > 0) {
      command =
          "bash -c 'trap \"\" XFSZ; ulimit -f " + std::to_string(limit_kb) + "; " + command + "'";
    }
    const int status = std::system(command.c_str());
    output_ = ReadFile(log);
    fs::remove(log);
    return status;
  }

  // Runs a study program on the CPU; it must succeed.
  void Run(const std::string& program, const std::string& arguments, fs::path out = {}) {
    const fs::path path = ProgramPath(program);
    if (!fs::exists(path)) GTEST_SKIP() << path << " is not built (FANIN_BUILD_EXAMPLES=OFF?)";
    ASSERT_EQ(Launch(program, arguments + " --device cpu", out), 0) << arguments << "\n" << output_;
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
  std::string output_;
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

// The message of the invalid_argument that parsing `arguments` throws.
std::string OptionError(std::vector<const char*> arguments, int min_epochs = 0) {
  arguments.insert(arguments.begin(), "study");
  try {
    study::ParseOptions(static_cast<int>(arguments.size()), arguments.data(), {.out = "out"},
                        min_epochs);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(StudyOptionsTest, MalformedAndOutOfRangeValuesAreRefusedNamingTheFlag) {
  const auto expect = [](const std::vector<const char*>& arguments, const std::string& flag,
                         const std::string& cause, int min_epochs = 0) {
    const std::string message = OptionError(arguments, min_epochs);
    EXPECT_NE(message.find(flag), std::string::npos) << message;
    EXPECT_NE(message.find(cause), std::string::npos) << message;
  };
  expect({"--seeds", "abc"}, "--seeds", "is not a whole number in [1, 1000000]");
  expect({"--seeds", "1e3"}, "--seeds", "is not a whole number in [1, 1000000]");
  expect({"--seeds", "0x10"}, "--seeds", "is not a whole number in [1, 1000000]");
  expect({"--seeds", "0"}, "--seeds", "is not a whole number in [1, 1000000]");
  expect({"--seeds", "99999999999"}, "--seeds", "is not a whole number in [1, 1000000]");
  expect({"--epochs", "-1"}, "--epochs", "is not a whole number in [0, 1000000]");
  expect({"--epochs", "0"}, "--epochs", "is not a whole number in [1, 1000000]", /*min_epochs=*/1);
  expect({"--epochs", "2000000"}, "--epochs", "is not a whole number in [0, 1000000]");
  expect({"--device", "tpu"}, "--device", "tpu");
  expect({"--out", ""}, "--out", "must name a directory");
  expect({"--seeds", "2", "--seeds", "3"}, "--seeds", "");
  expect({"--seeds"}, "--seeds", "");
  expect({"--bogus", "1"}, "--bogus", "");
  expect({"stray"}, "stray", "");

  const char* good[] = {"study", "--seeds=3", "--epochs", "7", "--device", "cpu"};
  const study::Options options = study::ParseOptions(6, good, {.out = "out"});
  EXPECT_EQ(options.seeds, 3);
  EXPECT_EQ(options.epochs, 7);
  EXPECT_EQ(options.device, "cpu");
  EXPECT_EQ(options.out, "out");
  EXPECT_FALSE(options.help);
}

TEST(StudyOptionsTest, HelpListsEveryFlagWithItsDefault) {
  const std::string usage =
      study::Usage("init_study", {.out = "out/init_study", .epochs = 150}, /*min_epochs=*/1);
  for (const char* text : {"--seeds", "=30", "--out", "=out/init_study", "--device", "=auto",
                           "--epochs", "=150", "--help"}) {
    EXPECT_NE(usage.find(text), std::string::npos) << text << " in\n" << usage;
  }
}

// The report files of two runs of the same study into `a` and `b`, which must be equal
// byte for byte but for the --out path in the command line they quote.
void ExpectSameReport(const fs::path& a, const fs::path& b) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(a)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  std::vector<std::string> names_b;
  for (const auto& entry : fs::directory_iterator(b)) names_b.push_back(entry.path().filename());
  std::sort(names_b.begin(), names_b.end());
  EXPECT_EQ(names, names_b);
  for (const std::string& name : names) {
    std::string text = ReadFile(a / name);
    for (size_t at; (at = text.find(a.string())) != std::string::npos;) {
      text.replace(at, a.string().size(), b.string());
    }
    EXPECT_TRUE(text == ReadFile(b / name)) << name << " differs";
  }
}

TEST_F(StudyTest, AnInterruptedStudyKeepsThePreviousReportAndResumesToTheSameOne) {
  Run("init_study", "--seeds 1");
  if (IsSkipped() || HasFatalFailure()) return;
  const std::string ratios = ReadFile(out_ / "ratios.csv");
  const std::string runs = ReadFile(out_ / "runs.h5");

  // Interrupted by a full disk a few runs into the journal of a two-seed study: the
  // one-seed report stays whole.
  const std::string two = "--seeds 2 --device cpu";
  EXPECT_NE(Launch("init_study", two, out_, /*limit_kb=*/160), 0) << output_;
  EXPECT_NE(output_.find("File too large"), std::string::npos) << output_;
  EXPECT_EQ(ReadFile(out_ / "ratios.csv"), ratios);
  EXPECT_EQ(ReadFile(out_ / "runs.h5"), runs);
  ExpectWellFormedReport();

  // The same command again reuses the runs done, and gives what one uninterrupted run does.
  ASSERT_EQ(Launch("init_study", two), 0) << output_;
  EXPECT_EQ(output_.find("(0 runs reused)"), std::string::npos) << output_;
  EXPECT_NE(output_.find(" runs reused)"), std::string::npos) << output_;
  EXPECT_FALSE(fs::exists(out_.string() + ".staging"));
  const fs::path alone = out_.string() + "_alone";
  Run("init_study", "--seeds 2", alone);
  ExpectSameReport(alone, out_);
  fs::remove_all(alone);
}

TEST_F(StudyTest, ABadDeviceOrABusyOutputTouchesNothing) {
  Run("activation_study", "--seeds 1 --epochs 1");
  if (IsSkipped() || HasFatalFailure()) return;
  const std::string table = ReadFile(out_ / "epochs_to_100.csv");
  const std::string runs = ReadFile(out_ / "runs.h5");

  // Without a GPU, --device cuda fails before anything in --out is touched.
  if (Launch("activation_study", "--seeds 2 --epochs 1 --device cuda") != 0) {
    EXPECT_NE(output_.find("GPU"), std::string::npos) << output_;
    EXPECT_FALSE(fs::exists(out_.string() + ".staging"));
    EXPECT_EQ(ReadFile(out_ / "epochs_to_100.csv"), table);
    EXPECT_EQ(ReadFile(out_ / "runs.h5"), runs);
  }

  // Another process writing the same --out: refused, saying so.
  {
    RunStore other(out_.string(), "another study");
    EXPECT_NE(Launch("activation_study", "--seeds 2 --epochs 1 --device cpu"), 0);
    EXPECT_NE(output_.find("is being written by another process"), std::string::npos) << output_;
  }
  EXPECT_EQ(ReadFile(out_ / "epochs_to_100.csv"), table);
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
