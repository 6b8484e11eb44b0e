// The two study programs, run small: every file of their report is written, the tables
// have the documented columns, the HDF5 file agrees with the CSV, and every SVG and HTML
// document is well-formed XML whose images all exist. Their shared helpers (study.h) are
// tested next to them, in python-free-examples/study_test.cc.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
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

}  // namespace
}  // namespace fanin
