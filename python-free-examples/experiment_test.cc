// The experiment runner: spec errors with their messages, the grid's expansion, check's
// text, and small runs end to end (results, the report, divergence, resume, a second writer
// refused).
#include "python-free-examples/experiment.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "fanin/fanin.h"
#include "fanin/run_store.h"
#include "tests/xml_util.h"

namespace fanin::experiment {
namespace {

namespace fs = std::filesystem;

// The message of the SpecError that parsing `text` throws.
std::string SpecErrorOf(const std::string& text) {
  try {
    ParseSpec(text, "spec.toml");
  } catch (const SpecError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(ExperimentSpecTest, ErrorsNameTheFileLineColumnAndProblem) {
  EXPECT_EQ(SpecErrorOf("[train]\nlerning_rate = 0.1\n"),
            "spec.toml:2:1: unknown key \"train.lerning_rate\"; did you mean \"learning_rate\"? "
            "(valid: optimizer learning_rate momentum nesterov l2 batch_size epochs)");
  EXPECT_EQ(SpecErrorOf("sedes = 3\n"),
            "spec.toml:1:1: unknown key \"sedes\"; did you mean \"seeds\"? (valid: name seeds "
            "data model train grid config measure compare)");
  // Far from every valid key: no guess, only the list.
  EXPECT_EQ(SpecErrorOf("[model]\ncolour = 1\n"),
            "spec.toml:2:1: unknown key \"model.colour\" (valid: widths shape depth width "
            "activation initializer output_initializer output_units loss batch_norm dropout)");
  EXPECT_EQ(SpecErrorOf("seeds = \"ten\"\n"),
            "spec.toml:1:9: seeds must be an integer, not a string");
  EXPECT_EQ(SpecErrorOf("[train]\nbatch_size = 32.0\n"),
            "spec.toml:2:14: train.batch_size must be an integer, not a floating-point number");
  EXPECT_EQ(SpecErrorOf("model = 3\n"), "spec.toml:1:9: model must be a table, not an integer");
  EXPECT_EQ(SpecErrorOf("[grid]\n"),
            "spec.toml:1:1: [grid] is empty: give at least one key with a list of values");
  EXPECT_EQ(SpecErrorOf("[grid]\nactivation = []\n"),
            "spec.toml:2:14: grid.activation is empty: give at least one value");
  EXPECT_EQ(SpecErrorOf("[grid]\nactivation = \"tanh\"\n"),
            "spec.toml:2:14: grid.activation must be an array, not a string");
  EXPECT_EQ(SpecErrorOf("[model]\ndepth = 0\n"),
            "spec.toml:2:9: model.depth must be in [1, 10000], not 0");
  EXPECT_EQ(SpecErrorOf("[grid]\nwidth = [100, 0]\n"),
            "spec.toml:2:15: grid.width[1] must be in [1, 1000000], not 0");
  EXPECT_EQ(SpecErrorOf("[model]\nwidths = [10, 0]\n"),
            "spec.toml:2:15: model.widths[1] must be in [1, 1000000], not 0");
  const std::string initializer =
      SpecErrorOf("[grid]\ninitializer = [\"he_normal\", \"he_nromal\"]\n");
  EXPECT_EQ(initializer.rfind("spec.toml:2:29: grid.initializer[1]: unknown initializer ", 0), 0u)
      << initializer;
  EXPECT_NE(initializer.find("he_nromal"), std::string::npos) << initializer;
  EXPECT_EQ(SpecErrorOf("[data]\nkind = \"bal\"\n"),
            "spec.toml:2:8: data.kind: unknown kind \"bal\"; did you mean \"ball\"? (valid: ball "
            "blobs regression parabola csv)");
  EXPECT_EQ(SpecErrorOf("[data]\nkind = \"blobs\"\n[model]\nloss = \"binary_crossentropy\"\n"),
            "spec.toml:4:8: model.loss \"binary_crossentropy\" cannot take the labels of "
            "data.kind \"blobs\" (blobs: class indices 0..classes-1; its loss by default: "
            "sparse_categorical_crossentropy)");
  EXPECT_EQ(SpecErrorOf("[data]\nkind = \"regression\"\nclasses = 3\n"),
            "spec.toml:3:11: data.classes does not apply to data.kind \"regression\"");
  EXPECT_EQ(SpecErrorOf("[data]\nkind = \"blobs\"\nclasses = 4\n[model]\noutput_units = 3\n"),
            "spec.toml:5:16: model.output_units is 3, but sparse_categorical_crossentropy on "
            "data.kind \"blobs\" needs 4 outputs, one per class");
  EXPECT_EQ(SpecErrorOf("[model]\nloss = \"mean_squared_eror\"\n"),
            "spec.toml:2:8: model.loss: unknown or unsupported loss \"mean_squared_eror\"; did "
            "you mean \"mean_squared_error\"? (valid: binary_crossentropy "
            "sparse_categorical_crossentropy mean_squared_error mean_absolute_error)");
  EXPECT_EQ(SpecErrorOf("[data]\nkind = \"regression\"\n[measure]\ntarget_accuracy = 0.9\n"),
            "spec.toml:4:19: measure.target_accuracy needs a classification loss; "
            "mean_squared_error reports mean_absolute_error (use measure.target_loss)");
  EXPECT_EQ(SpecErrorOf("[data]\nkind = \"csv\"\n"),
            "spec.toml:1:1: data.kind \"csv\" needs data.path, the CSV file");
  EXPECT_EQ(SpecErrorOf("[data]\nkind = \"csv\"\npath = \"no-such.csv\"\n"),
            "spec.toml:3:8: data.path: LoadCsv: cannot open 'no-such.csv'");
  EXPECT_EQ(SpecErrorOf("[data]\nkind = \"parabola\"\ndims = 3\n"),
            "spec.toml:3:8: data.dims does not apply to data.kind \"parabola\" (its points have 2 "
            "features)");
  EXPECT_EQ(SpecErrorOf("[data]\nkind = \"parabola\"\npoints = 7\n"),
            "spec.toml:3:10: data.points must be even for the parabolas (half on each), not 7");
  EXPECT_EQ(SpecErrorOf("[data]\nkind = \"parabola\"\n[grid]\nradius_fraction = [0.5, 1]\n"),
            "spec.toml:4:20: grid.radius_fraction[0] applies to data.kind \"ball\" only");
  EXPECT_EQ(SpecErrorOf("[grid]\ninitializer = [\"he_uniform\", \"he_normal\"]\n[compare]\n"
                        "baseline = { initializer = \"glorot_normal\" }\n"),
            "spec.toml:4:28: compare.baseline.initializer: configuration \"he_uniform\" has no "
            "counterpart that differs from it in initializer alone");
  EXPECT_EQ(SpecErrorOf("[grid]\ninitializer = [\"he_uniform\", \"he_normal\"]\n[compare]\n"
                        "baseline = { depth = 3 }\n"),
            "spec.toml:4:14: unknown key \"compare.baseline.depth\" (valid: activation initializer "
            "batch_size epochs learning_rate radius_fraction batch_norm dropout optimizer momentum "
            "nesterov l2)");
  EXPECT_EQ(SpecErrorOf("[model]\nwidths = [10]\ndepth = 3\n"),
            "spec.toml:3:9: model.depth conflicts with model.widths: give the widths, or a shape "
            "with depth and width");
  EXPECT_EQ(SpecErrorOf("[model]\noutput_units = 2\n"),
            "spec.toml:2:16: model.output_units is 2, but binary_crossentropy on data.kind "
            "\"ball\" needs 1 output");
  EXPECT_EQ(
      SpecErrorOf("[measure]\nstatistics = [\"grad_raito\"]\n"),
      "spec.toml:2:15: measure.statistics: unknown statistic \"grad_raito\"; did you mean "
      "\"grad_ratio\"? (valid: grad_ratio update_ratio " +
          [] {
            std::string all;
            for (const char* role :
                 {"z", "activation", "kernel", "bias", "kernel_grad", "bias_grad"}) {
              for (const char* what :
                   {"mean", "std", "min", "max", "norm", "zero_fraction", "saturated_fraction"}) {
                all += std::string(all.empty() ? "" : " ") + role + "_" + what;
              }
            }
            return all;
          }() +
          ")");
  EXPECT_EQ(SpecErrorOf("[grid]\nactivation = [\"tanh\"]\n[[config]]\nname = \"a\"\n"
                        "activation = \"relu\"\n"),
            "spec.toml:5:14: config[0].activation is also a [grid] key: give it in one place");
  EXPECT_EQ(SpecErrorOf("[grid]\ndepth = [2, 3]\n[[config]]\nname = \"a\"\nwidths = [4]\n"),
            "spec.toml:1:1: [grid] varies the shape, depth or width, but configuration \"a\" "
            "gives the widths: give a shape, depth and width instead");
  EXPECT_EQ(SpecErrorOf("[[config]]\nname = \"a\"\n[[config]]\nname = \"a\"\n"),
            "spec.toml:4:8: config[1].name \"a\" is already taken");
  EXPECT_EQ(SpecErrorOf("[train]\nlearning_rate = -1\n"),
            "spec.toml:2:17: train.learning_rate must be a finite number above 0, not -1");
  EXPECT_EQ(SpecErrorOf("[measure]\ntarget_accuracy = 1.5\n"),
            "spec.toml:2:19: measure.target_accuracy is a fraction in (0, 1], not 1.5");
  EXPECT_EQ(SpecErrorOf("[measure]\ninit = false\n"),
            "spec.toml:1:1: measure: nothing is measured; set init = true, every_epochs >= 1, "
            "every_steps >= 1 or evaluate = true");
  EXPECT_EQ(SpecErrorOf("[train]\nepochs = 2\n[measure]\nevaluate = true\n[grid]\n"
                        "initializer = [\"he_uniform\", \"he_normal\"]\n[compare]\n"
                        "statistic = \"epochs_to_accuracy\"\nbaseline = \"he_normal\"\n"),
            "spec.toml:8:13: compare.statistic epochs_to_accuracy needs measure.target_accuracy");
  EXPECT_EQ(SpecErrorOf("[grid]\ninitializer = [\"he_uniform\", \"he_normal\"]\n[compare]\n"
                        "statistic = \"final_loss\"\nbaseline = \"he_normal\"\n"),
            "spec.toml:4:13: compare.statistic final_loss is a training outcome: set "
            "measure.evaluate = true (or a measure.target_...)");
  EXPECT_EQ(SpecErrorOf("[measure]\nevaluate = true\n[grid]\n"
                        "initializer = [\"he_uniform\", \"he_normal\"]\n[compare]\n"
                        "statistic = \"final_loss\"\nbaseline = \"he_normal\"\n"),
            "spec.toml:6:13: compare.statistic final_loss needs training, but configuration "
            "\"he_uniform\" has epochs = 0");
  EXPECT_EQ(SpecErrorOf("seeds = [1\n"),
            "spec.toml:1:12: TOML syntax: Error while parsing array: encountered end-of-file");
}

TEST(ExperimentSpecTest, ComparisonsNameConfigurationsOfTheGrid) {
  const std::string grid =
      "[grid]\ninitializer = [\"he_normal\", \"he_uniform\", \"glorot_normal\"]\n";
  EXPECT_EQ(SpecErrorOf(grid + "[compare]\nbaseline = \"he_unifrom\"\n"),
            "spec.toml:4:12: compare.baseline: no configuration \"he_unifrom\"; did you mean "
            "\"he_uniform\"? (valid: he_normal he_uniform glorot_normal)");
  EXPECT_EQ(SpecErrorOf(grid + "[compare]\npairs = [[\"he_normal\"]]\n"),
            "spec.toml:4:10: compare.pairs[0] must name two configurations, not 1");
  EXPECT_EQ(SpecErrorOf(grid + "[compare]\nstatistic = \"z_std\"\n"),
            "spec.toml:3:1: [compare] needs either pairs or baseline");
  const Spec baseline = ParseSpec(grid + "[compare]\nbaseline = \"he_uniform\"\n", "b.toml");
  EXPECT_EQ(baseline.compare.pairs,
            (std::vector<std::pair<std::string, std::string>>{{"he_normal", "he_uniform"},
                                                              {"glorot_normal", "he_uniform"}}));
  const Spec pairs = ParseSpec(
      grid + "[compare]\nstatistic = \"z_std\"\npairs = [[\"he_uniform\", \"glorot_normal\"]]\n",
      "p.toml");
  EXPECT_EQ(pairs.compare.statistic, "z_std");
  EXPECT_EQ(pairs.compare.pairs,
            (std::vector<std::pair<std::string, std::string>>{{"he_uniform", "glorot_normal"}}));
}

// compare.baseline = { KEY = VALUE } pairs each configuration with the one that differs from
// it in KEY alone.
TEST(ExperimentSpecTest, ABaselineValueIsComparedWithinEachGroup) {
  const Spec spec = ParseSpec(R"toml(
[grid]
initializer = ["he_uniform", "he_normal", "glorot_normal"]
epochs = [1, 2]
[compare]
baseline = { initializer = "he_uniform" }
)toml",
                              "spec.toml");
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"he_normal_epochs1", "he_uniform_epochs1"},
      {"he_normal_epochs2", "he_uniform_epochs2"},
      {"glorot_normal_epochs1", "he_uniform_epochs1"},
      {"glorot_normal_epochs2", "he_uniform_epochs2"}};
  EXPECT_EQ(spec.compare.pairs, expected);
}

// [[config]] tables with a [grid]: each configuration crossed with the grid's product.
TEST(ExperimentSpecTest, NamedConfigurationsCrossTheGrid) {
  const Spec spec = ParseSpec(R"toml(
[grid]
depth = [2, 3]
[[config]]
name = "tanh_glorot"
activation = "tanh"
initializer = "glorot_normal"
[[config]]
name = "relu_he"
activation = "relu"
initializer = "he_normal"
)toml",
                              "spec.toml");
  std::vector<std::string> names;
  for (const Config& c : spec.configs) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"tanh_glorot_depth2", "tanh_glorot_depth3",
                                             "relu_he_depth2", "relu_he_depth3"}));
  EXPECT_EQ(spec.configs[1].widths, (std::vector<int64_t>{100, 100, 100}));
  EXPECT_EQ(spec.configs[1].activation, "tanh");
  EXPECT_EQ(spec.configs[2].initializer, "he_normal");
  EXPECT_EQ(SpecErrorOf("[grid]\ndepth = [2]\n[[config]]\nname = \"a\"\n[[config]]\nname = "
                        "\"a\"\n"),
            "spec.toml:6:8: config[1].name \"a\" is already taken");
}

TEST(ExperimentSpecTest, AnUnknownActivationGetsTheClosestName) {
  const std::string message = SpecErrorOf("[model]\nactivation = \"tanhh\"\n");
  EXPECT_EQ(message.rfind("spec.toml:2:14: model.activation: unknown activation \"tanhh\"; "
                          "did you mean \"tanh\"? (valid: ",
                          0),
            0u)
      << message;
}

TEST(ExperimentSpecTest, AMissingFileIsNamed) {
  try {
    LoadSpec("/nonexistent/spec.toml");
    FAIL() << "accepted a missing file";
  } catch (const SpecError& e) {
    EXPECT_EQ(std::string(e.what()),
              "/nonexistent/spec.toml: cannot read the spec file (No such file or directory)");
  }
}

TEST(ExperimentSpecTest, TheGridIsTheCartesianProductLastKeyFastest) {
  const Spec spec = ParseSpec(R"toml(
seeds = 3
[model]
initializer = "he_uniform"
[grid]
depth = [2, 3]
activation = ["tanh", "relu"]
width = [4]
)toml",
                              "grid.toml");
  EXPECT_EQ(spec.name, "grid");
  EXPECT_EQ(spec.seeds, 3);
  ASSERT_EQ(spec.configs.size(), 4u);
  // activation comes before depth in the product's order, whatever the file's order.
  const std::vector<std::string> names = {"tanh_depth2", "tanh_depth3", "relu_depth2",
                                          "relu_depth3"};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(spec.configs[i].name, names[i]);
    EXPECT_EQ(spec.configs[i].initializer, "he_uniform");
    EXPECT_EQ(spec.configs[i].widths, std::vector<int64_t>(i % 2 == 0 ? 2 : 3, 4));
  }
}

TEST(ExperimentSpecTest, NamedConfigurationsOverrideTheBase) {
  const Spec spec = ParseSpec(R"toml(
[model]
widths = [8, 8]
activation = "tanh"
[train]
learning_rate = 0.5
epochs = 2
[[config]]
name = "a"
[[config]]
name = "b"
shape = "funnel"
depth = 4
width = 40
learning_rate = 1
)toml",
                              "configs.toml");
  ASSERT_EQ(spec.configs.size(), 2u);
  EXPECT_EQ(spec.configs[0].widths, (std::vector<int64_t>{8, 8}));
  EXPECT_EQ(spec.configs[0].learning_rate, 0.5);
  EXPECT_EQ(spec.configs[1].widths, (std::vector<int64_t>{40, 30, 20, 10}));
  EXPECT_EQ(spec.configs[1].shape, "funnel");
  EXPECT_EQ(spec.configs[1].learning_rate, 1.0);
  EXPECT_EQ(spec.configs[1].epochs, 2);
}

TEST(ExperimentSpecTest, Shapes) {
  EXPECT_EQ(ShapeWidths("block", 3, 7), (std::vector<int64_t>{7, 7, 7}));
  EXPECT_EQ(ShapeWidths("funnel", 10, 100),
            (std::vector<int64_t>{100, 90, 80, 70, 60, 50, 40, 30, 20, 10}));
  EXPECT_EQ(ShapeWidths("hourglass", 5, 100), (std::vector<int64_t>{100, 60, 20, 60, 100}));
  EXPECT_EQ(ShapeWidths("hourglass", 4, 100), (std::vector<int64_t>{100, 50, 50, 100}));
  EXPECT_EQ(ShapeWidths("funnel", 4, 2), (std::vector<int64_t>{2, 2, 1, 1}));
  EXPECT_THROW(ShapeWidths("diamond", 3, 7), SpecError);
  EXPECT_THROW(ShapeWidths("block", 0, 7), SpecError);
  EXPECT_THROW(ShapeWidths("block", 3, 0), SpecError);
}

const char* kTinySpec = R"toml(
name = "tiny"
seeds = 3
[data]
dims = 3
points = 40
[model]
widths = [6, 5]
initializer = "glorot_uniform"
[train]
batch_size = 16
epochs = 2
[measure]
every_epochs = 1
statistics = ["grad_ratio", "z_std", "activation_std"]
[grid]
activation = ["tanh", "relu"]
[compare]
baseline = "relu"
)toml";

TEST(ExperimentSpecTest, CheckPrintsTheGridAndTheWork) {
  const Spec spec = ParseSpec(kTinySpec, "tiny.toml");
  // Per run: 3 measurements of 40 points and 2 epochs of 40, 6 x (3*6 + 6*5 + 5) per sample.
  EXPECT_EQ(RunFlops(spec, spec.configs[0]), 6.0 * 53 * (3 * 40 + 2 * 40));
  EXPECT_EQ(CheckText(spec),
            "tiny.toml: 2 configurations x 3 seeds = 6 runs\n"
            "data: ball, 3 dimensions, 40 points (seed s draws the points of run seed s)\n"
            "model: binary_crossentropy, 1 output\n"
            "measure: at initialization, after every 1 epochs, on all points: grad_ratio z_std "
            "activation_std\n"
            "configurations:\n"
            "  tanh: tanh, glorot_uniform, widths [6 5], radius_fraction 0.5, sgd lr 0.01, "
            "batch 16, 2 epochs\n"
            "  relu: relu, glorot_uniform, widths [6 5], radius_fraction 0.5, sgd lr 0.01, "
            "batch 16, 2 epochs\n"
            "compare: tanh with relu (grad_ratio)\n"
            "work: 54 forward and backward passes, about 0.000382 GFLOP (6 per weight and "
            "sample)\n");
}

std::string ReadFile(const fs::path& path) {
  std::ifstream file(path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// The rows of a CSV file without quoted cells, split at the commas, the header left out.
std::vector<std::vector<std::string>> CsvRows(const fs::path& path) {
  std::istringstream text(ReadFile(path));
  std::vector<std::vector<std::string>> rows;
  std::string line;
  std::getline(text, line);
  while (std::getline(text, line)) {
    std::vector<std::string>& cells = rows.emplace_back();
    std::istringstream fields(line);
    for (std::string cell; std::getline(fields, cell, ',');) cells.push_back(cell);
  }
  return rows;
}

class ExperimentRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "fanin-experiment-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  distributed::World world_;
};

TEST_F(ExperimentRunTest, ATinyRunWritesTidyResults) {
  const Spec spec = ParseSpec(kTinySpec, "tiny.toml");
  const RunSummary summary = RunExperiment(world_, spec, {.out = dir_ / "out", .device = "cpu"});
  EXPECT_EQ(summary.runs, 6);
  EXPECT_EQ(summary.reused, 0);
  EXPECT_EQ(summary.diverged, 0);
  for (const char* file :
       {"results.csv", "configs.csv", "ratios.csv", "comparisons.csv", "runs.h5"}) {
    EXPECT_TRUE(fs::exists(dir_ / "out" / file)) << file;
  }
  std::istringstream results(ReadFile(dir_ / "out" / "results.csv"));
  std::string line;
  std::getline(results, line);
  EXPECT_EQ(line, "config,seed,epoch,step,layer,statistic,value");
  std::getline(results, line);
  EXPECT_EQ(line.rfind("tanh,0,0,0,h1,grad_ratio,", 0), 0u) << line;
  int rows = 1;
  std::string last;
  while (std::getline(results, line)) {
    ++rows;
    last = line;
  }
  // Per run: 3 measurements x 3 layers x 3 statistics, less the output layer's missing
  // activation where it has none, plus loss and accuracy per epoch.
  EXPECT_EQ(last.rfind("relu,2,2,6,,accuracy,", 0), 0u) << last;
  EXPECT_GE(rows, 6 * (3 * 3 * 2 + 3 * 2 + 4));
  EXPECT_EQ(
      ReadFile(dir_ / "out" / "configs.csv"),
      "config,activation,initializer,widths,shape,radius_fraction,learning_rate,batch_size,"
      "epochs,output_initializer\ntanh,tanh,glorot_uniform,6 5,,0.5,0.01,16,2,glorot_uniform\n"
      "relu,relu,glorot_uniform,6 5,,0.5,0.01,16,2,glorot_uniform\n");
  const std::string ratios = ReadFile(dir_ / "out" / "ratios.csv");
  EXPECT_EQ(ratios.rfind("config,activation,initializer,layer,n_seeds,ratio_median,ratio_p10,"
                         "ratio_p90\ntanh,tanh,glorot_uniform,h1,3,",
                         0),
            0u)
      << ratios;
}

// Batch normalization and dropout between the hidden layers: the tables and comparisons
// are of the Dense layers (h1, h2, out) in every configuration, so that a plain and a
// normalized model are compared layer by layer; configs.csv says which has what.
TEST_F(ExperimentRunTest, BatchNormAndDropoutConfigurationsCompareTheDenseLayers) {
  std::string text = kTinySpec;
  text.replace(text.find("activation = [\"tanh\", \"relu\"]"),
               std::string("activation = [\"tanh\", \"relu\"]").size(),
               "batch_norm = [false, true]\ndropout = [0.0, 0.25]");
  text.replace(text.find("baseline = \"relu\""), std::string("baseline = \"relu\"").size(),
               "baseline = { batch_norm = false }");
  const Spec spec = ParseSpec(text, "layers.toml");
  ASSERT_EQ(spec.configs.size(), 4u);
  EXPECT_EQ(spec.configs[3].name, "batchnorm_dropout0.25");
  RunExperiment(world_, spec, {.out = dir_ / "out", .device = "cpu"});
  std::set<std::string> layers;
  for (const auto& row : CsvRows(dir_ / "out" / "results.csv")) {
    if (!row[4].empty()) layers.insert(row[4]);
  }
  EXPECT_EQ(layers, (std::set<std::string>{"h1", "h2", "out"}));
  const auto comparisons = CsvRows(dir_ / "out" / "comparisons.csv");
  ASSERT_FALSE(comparisons.empty());
  EXPECT_EQ(comparisons[0][0], "batchnorm_dropout0");
  EXPECT_EQ(comparisons[0][1], "plain_dropout0");
  EXPECT_NE(ReadFile(dir_ / "out" / "configs.csv").find(",batch_norm,dropout\n"),
            std::string::npos);
  EXPECT_NE(ReadFile(dir_ / "out" / "configs.csv").find(",true,0.25\n"), std::string::npos);
}

// The fractions only fused statistics count reach results.csv: ReLU's dead units are exact
// zeros (a fraction > 0 at initialization with zero biases), tanh's saturated share is in
// [0, 1], and a norm is positive.
TEST_F(ExperimentRunTest, DeadSaturatedAndNormStatisticsReachTheResults) {
  std::string text = kTinySpec;
  const std::string old_statistics = R"(statistics = ["grad_ratio", "z_std", "activation_std"])";
  text.replace(text.find(old_statistics), old_statistics.size(),
               R"(statistics = ["activation_zero_fraction", "activation_saturated_fraction",
                                "kernel_grad_norm"])");
  const Spec spec = ParseSpec(text, "tiny.toml");
  RunExperiment(world_, spec, {.out = dir_ / "out", .device = "cpu"});
  std::map<std::string, std::vector<double>> values;  // "config statistic" -> values
  for (const std::vector<std::string>& cells : CsvRows(dir_ / "out" / "results.csv")) {
    if (cells.size() != 7 || cells[4].empty()) continue;
    values[cells[0] + " " + cells[5]].push_back(std::stod(cells[6]));
  }
  ASSERT_EQ(values.size(), 6u);
  for (const auto& [key, list] : values) {
    for (double v : list) {
      EXPECT_GE(v, 0.0) << key;
      if (key.find("fraction") != std::string::npos) {
        EXPECT_LE(v, 1.0) << key;
      }
      if (key.find("norm") != std::string::npos) {
        EXPECT_GT(v, 0.0) << key;
      }
    }
  }
  double relu_dead = 0.0, tanh_dead = 0.0;
  for (double v : values["relu activation_zero_fraction"]) relu_dead = std::max(relu_dead, v);
  for (double v : values["tanh activation_zero_fraction"]) tanh_dead = std::max(tanh_dead, v);
  EXPECT_GT(relu_dead, 0.1);
  EXPECT_EQ(tanh_dead, 0.0);
  EXPECT_EQ(values["relu activation_saturated_fraction"],
            std::vector<double>(values["relu activation_saturated_fraction"].size(), 0.0));
}

// Every element and attribute of a written document, for a check that nothing in it points
// outside the output folder.
void ExpectOnlyLocalReferences(const testing::Node& node, const fs::path& dir,
                               const std::string& file) {
  EXPECT_NE(node.name, "script") << file;
  for (const auto& [name, value] : node.attributes) {
    if (name == "xmlns") continue;  // a namespace's name, never fetched
    EXPECT_EQ(value.find("http"), std::string::npos) << file << ": " << name << "=" << value;
    if (name == "src" || name == "href") {
      EXPECT_TRUE(fs::exists(dir / value)) << file << " refers to a missing " << value;
    }
  }
  for (const auto& child : node.children) ExpectOnlyLocalReferences(*child, dir, file);
}

TEST_F(ExperimentRunTest, ATinyRunWritesAReport) {
  const Spec spec = ParseSpec(kTinySpec, "tiny.toml");
  RunExperiment(world_, spec, {.out = dir_ / "out", .device = "cpu"});
  const fs::path out = dir_ / "out";
  const std::string html = ReadFile(out / "index.html");
  std::unique_ptr<testing::Node> root;
  ASSERT_NO_THROW(root = testing::ParseXml(html)) << html;
  ExpectOnlyLocalReferences(*root, out, "index.html");
  std::vector<std::string> images;
  for (const testing::Node* img : testing::Find(*root, "img")) {
    images.push_back(img->attributes.at("src"));
    std::unique_ptr<testing::Node> svg;
    ASSERT_NO_THROW(svg = testing::ParseXml(ReadFile(out / images.back()))) << images.back();
    ExpectOnlyLocalReferences(*svg, out, images.back());
  }
  // The ratio chart, one chart per statistic, the training curves, each configuration's
  // four panels.
  EXPECT_EQ(images, (std::vector<std::string>{"ratios.svg", "stat_grad_ratio.svg", "stat_z_std.svg",
                                              "stat_activation_std.svg", "training.svg",
                                              "panels_0.svg", "panels_1.svg"}));
  EXPECT_NE(html.find("on the full data set, all 40 points"), std::string::npos) << html;
  EXPECT_NE(html.find("batch_size = 16"), std::string::npos);  // the spec's text
  // The comparison table holds comparisons.csv's rows: 3 measurements x 3 layers.
  const size_t table = html.find("<h3>tanh against relu: std(dL/dW) / std(W)</h3>\n<table>");
  ASSERT_NE(table, std::string::npos) << html;
  const std::string rows = html.substr(table, html.find("</table>", table) - table);
  std::istringstream csv(ReadFile(out / "comparisons.csv"));
  std::string line;
  std::getline(csv, line);
  int count = 0;
  while (std::getline(csv, line)) {
    ++count;
    std::vector<std::string> cells;
    std::istringstream fields(line);
    for (std::string cell; std::getline(fields, cell, ',');) cells.push_back(cell);
    std::string html_verdict = cells[11];  // "a > b", escaped in the page
    if (const size_t angle = html_verdict.find_first_of("<>"); angle != std::string::npos) {
      html_verdict.replace(angle, 1, html_verdict[angle] == '<' ? "&lt;" : "&gt;");
    }
    EXPECT_NE(
        rows.find("<tr><td>" + cells[2] + "</td><td>" + cells[3] + "</td><td>3</td><td>3</td><td>" +
                  cells[7] + "</td><td>" + cells[8] + "</td><td>" + cells[9] + "</td><td>" +
                  cells[10] + "</td><td>" + html_verdict + "</td></tr>"),
        std::string::npos)
        << line;
  }
  EXPECT_EQ(count, 9);
}

// The report's edges: one seed, measured on a mini-batch, no histograms, and runs that all
// diverge before their first measurement, so that there is nothing to chart.
TEST_F(ExperimentRunTest, TheReportSaysWhatItCouldNotDraw) {
  const std::string base = R"toml(
seeds = 1
[data]
dims = 3
points = 32
[model]
widths = [8, 8]
activation = "relu"
initializer = "normal(0,1)"
[train]
batch_size = 8
epochs = 2
[measure]
init = false
every_epochs = 1
on = "batch"
histogram_bins = 0
)toml";
  const Spec trains = ParseSpec(base, "batch.toml");
  RunExperiment(world_, trains, {.out = dir_ / "trains", .device = "cpu"});
  const std::string html = ReadFile(dir_ / "trains" / "index.html");
  EXPECT_NE(html.find("on a mini-batch, not the full data set: the first 8 of the 32 points"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("Not drawn: measure.histogram_bins is 0"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir_ / "trains" / "stat_grad_ratio.svg"));
  EXPECT_TRUE(fs::exists(dir_ / "trains" / "training.svg"));

  const Spec diverges = ParseSpec(base + "[grid]\nlearning_rate = [1e30]\n", "diverge.toml");
  const RunSummary summary =
      RunExperiment(world_, diverges, {.out = dir_ / "diverges", .device = "cpu"});
  EXPECT_EQ(summary.diverged, 1);
  const std::string empty = ReadFile(dir_ / "diverges" / "index.html");
  EXPECT_NE(empty.find("1 of 1 runs diverged"), std::string::npos) << empty;
  EXPECT_NE(empty.find("No run made a measurement"), std::string::npos) << empty;
  EXPECT_TRUE(fs::exists(dir_ / "diverges" / "training.svg"));
  EXPECT_FALSE(fs::exists(dir_ / "diverges" / "ratios.svg"));
}

TEST_F(ExperimentRunTest, ComparisonsGiveTheRatioOfMediansAndPOfAGreater) {
  const Spec spec = ParseSpec(kTinySpec, "tiny.toml");
  RunExperiment(world_, spec, {.out = dir_ / "out", .device = "cpu"});
  std::istringstream table(ReadFile(dir_ / "out" / "comparisons.csv"));
  std::string line;
  std::getline(table, line);
  EXPECT_EQ(line,
            "a,b,epoch,layer,statistic,n_a,n_b,median_a,median_b,median_ratio,p_a_greater,"
            "verdict");
  int rows = 0;
  while (std::getline(table, line)) {
    ++rows;
    std::vector<std::string> cells;
    std::istringstream fields(line);
    for (std::string cell; std::getline(fields, cell, ',');) cells.push_back(cell);
    ASSERT_EQ(cells.size(), 12u) << line;
    EXPECT_EQ(cells[0] + "," + cells[1], "tanh,relu");
    EXPECT_EQ(cells[5] + "," + cells[6], "3,3");
    EXPECT_NEAR(std::stod(cells[9]), std::stod(cells[7]) / std::stod(cells[8]),
                1e-5 * std::stod(cells[9]));
    const double p = std::stod(cells[10]) * 18;  // 9 pairs of seeds, ties counting half
    EXPECT_NEAR(p, std::round(p), 1e-2) << line;
    EXPECT_EQ(cells[11], p >= 0.75 * 18 ? "a > b" : p <= 0.25 * 18 ? "a < b" : "alike") << line;
  }
  EXPECT_EQ(rows, 3 * 3);  // 3 measurements x 3 layers
}

TEST_F(ExperimentRunTest, ADivergedRunIsRecordedAtItsStep) {
  const Spec spec = ParseSpec(R"toml(
seeds = 1
[data]
dims = 3
points = 32
[model]
widths = [8, 8]
activation = "relu"
initializer = "normal(0,1)"
[train]
learning_rate = 1e30
batch_size = 8
epochs = 5
)toml",
                              "diverge.toml");
  const RunSummary summary = RunExperiment(world_, spec, {.out = dir_ / "out", .device = "cpu"});
  EXPECT_EQ(summary.diverged, 1);
  const std::string results = ReadFile(dir_ / "out" / "results.csv");
  // Four steps per epoch: the first epoch's loss is already infinite or NaN.
  EXPECT_NE(results.find("\"relu_normal(0,1)\",0,1,4,,diverged_at_step,4\n"), std::string::npos)
      << results;
}

// The training outcomes: the end-of-epoch evaluations equal a model trained by hand with the
// same seed and evaluated after each epoch (so evaluating does not change the training),
// epochs to a target are the first epoch whose evaluation reaches it, a target never reached
// is infinite, and the comparison of an outcome is one row per pair.
TEST_F(ExperimentRunTest, TrainingOutcomesAreTheEndOfEpochEvaluations) {
  const Spec spec = ParseSpec(R"toml(
seeds = 2
[data]
dims = 4
points = 64
[model]
widths = [12, 12]
activation = "tanh"
[train]
learning_rate = 0.5
batch_size = 8
epochs = 6
[grid]
initializer = ["glorot_uniform", "glorot_normal"]
[measure]
init = false
target_accuracy = 0.7
target_loss = 1e-9
[compare]
statistic = "epochs_to_accuracy"
pairs = [["glorot_uniform", "glorot_normal"]]
)toml",
                              "outcomes.toml");
  RunExperiment(world_, spec, {.out = dir_ / "out", .device = "cpu"});
  std::map<std::string, std::vector<double>> rows;  // "config seed statistic" -> per epoch
  for (const std::vector<std::string>& cells : CsvRows(dir_ / "out" / "results.csv")) {
    ASSERT_EQ(cells.size(), 7u);
    rows[cells[0] + " " + cells[1] + " " + cells[5]].push_back(std::stod(cells[6]));
  }
  for (const char* init : {"glorot_uniform", "glorot_normal"}) {
    for (int seed = 0; seed < 2; ++seed) {
      const std::string run = std::string(init) + " " + std::to_string(seed) + " ";
      const auto s = static_cast<uint64_t>(seed);
      Sequential model(MakeBackend("cpu"));
      for (int i = 0; i < 2; ++i) model.Add(Dense(12, "tanh", init));
      model.Add(Dense(1, "linear", init));
      model.Compile(BinaryCrossEntropy{}, Sgd{.learning_rate = 0.5f});
      model.Build(4, s);
      const Dataset data = Ball(4, 64, 0.5, s);
      std::vector<double> loss, accuracy;
      FitOptions fit{.epochs = 6, .batch_size = 8, .shuffle_seed = s};
      fit.on_epoch_end = [&](const EpochLogs&) {
        const Evaluation e = model.Evaluate(data.x, data.y);
        loss.push_back(e.loss);
        accuracy.push_back(e.metric);
        return true;
      };
      model.Fit(data.x, data.y, fit);
      ASSERT_EQ(rows[run + "eval_loss"].size(), 6u) << run;
      for (size_t e = 0; e < 6; ++e) {
        EXPECT_FLOAT_EQ(rows[run + "eval_loss"][e], loss[e]) << run << e;
        EXPECT_FLOAT_EQ(rows[run + "eval_accuracy"][e], accuracy[e]) << run << e;
      }
      EXPECT_EQ(rows[run + "final_loss"], std::vector<double>{rows[run + "eval_loss"].back()});
      double first = std::numeric_limits<double>::infinity();
      for (size_t e = 0; e < 6 && std::isinf(first); ++e) {
        if (accuracy[e] >= 0.7) first = static_cast<double>(e + 1);
      }
      EXPECT_EQ(rows[run + "epochs_to_accuracy"], std::vector<double>{first}) << run;
      EXPECT_EQ(rows[run + "epochs_to_loss"],
                std::vector<double>{std::numeric_limits<double>::infinity()});
    }
  }
  const std::vector<std::vector<std::string>> comparisons =
      CsvRows(dir_ / "out" / "comparisons.csv");
  ASSERT_EQ(comparisons.size(), 1u);
  EXPECT_EQ(std::vector<std::string>(comparisons[0].begin(), comparisons[0].begin() + 7),
            (std::vector<std::string>{"glorot_uniform", "glorot_normal", "end", "",
                                      "epochs_to_accuracy", "2", "2"}));
  const std::string report = ReadFile(dir_ / "out" / "index.html");
  EXPECT_NE(report.find("Training outcomes"), std::string::npos);
  EXPECT_NE(report.find("reached by"), std::string::npos);
}

// measure.every_steps: the training steps' own statistics, with the update: for plain SGD
// ||update|| / ||W|| is the learning rate times ||dL/dW|| / ||W|| of the same step.
TEST_F(ExperimentRunTest, TrainingStepsAreMeasuredWithTheirUpdates) {
  const Spec spec = ParseSpec(R"toml(
seeds = 2
[data]
dims = 3
points = 32
[model]
widths = [6, 5]
activation = "tanh"
[train]
learning_rate = 0.5
batch_size = 8
epochs = 2
[measure]
init = false
every_steps = 2
statistics = ["update_ratio", "kernel_norm", "kernel_grad_norm"]
)toml",
                              "steps.toml");
  RunExperiment(world_, spec, {.out = dir_ / "out", .device = "cpu"});
  // "seed step layer" -> statistic -> value
  std::map<std::string, std::map<std::string, double>> rows;
  for (const std::vector<std::string>& cells : CsvRows(dir_ / "out" / "results.csv")) {
    ASSERT_EQ(cells.size(), 7u);
    if (cells[4].empty()) continue;  // loss and accuracy
    rows[cells[1] + " " + cells[3] + " " + cells[4]][cells[5]] = std::stod(cells[6]);
  }
  // 2 seeds x steps 0, 2, 4, 6 (4 steps an epoch) x 3 layers.
  EXPECT_EQ(rows.size(), 2u * 4 * 3);
  for (const auto& [where, values] : rows) {
    ASSERT_EQ(values.size(), 3u) << where;
    const double expected =
        0.5 * values.at("kernel_grad_norm@train_step") / values.at("kernel_norm@train_step");
    EXPECT_NEAR(values.at("update_ratio@train_step"), expected, 1e-5 * expected) << where;
  }
  EXPECT_TRUE(rows.contains("1 6 out"));
  EXPECT_TRUE(fs::exists(dir_ / "out" / "steps_update_ratio.svg"));
  EXPECT_EQ(SpecErrorOf("[measure]\nstatistics = [\"update_ratio\"]\n"),
            "spec.toml:2:15: measure.statistics: update_ratio is measured on training steps only; "
            "set measure.every_steps");
}

// A CSV file holding the ball of seed 0 gives the ball's results for seed 0, byte for byte:
// the file's path is read relative to the spec, its features and rows taken from it.
TEST_F(ExperimentRunTest, ACsvFileOfTheBallGivesTheBallsResults) {
  const Dataset ball = Ball(3, 40, 0.5, 0);
  {
    std::ofstream csv(dir_ / "ball.csv");
    csv << "a,b,c,label\n";
    for (int64_t i = 0; i < 40; ++i) {
      for (int64_t j = 0; j < 3; ++j) {
        char cell[32];
        std::snprintf(cell, sizeof cell, "%.9g,", ball.x.data()[i * 3 + j]);
        csv << cell;
      }
      csv << ball.y.data()[i] << "\n";
    }
  }
  const std::string rest = R"toml(
[model]
widths = [6, 5]
activation = "tanh"
[train]
batch_size = 16
epochs = 2
[measure]
every_epochs = 1
evaluate = true
)toml";
  const Spec from_ball =
      ParseSpec("seeds = 1\n[data]\ndims = 3\npoints = 40\n" + rest, "ball.toml");
  {
    std::ofstream file(dir_ / "csv.toml");
    file << "seeds = 1\n[data]\nkind = \"csv\"\npath = \"ball.csv\"\n" << rest;
  }
  const Spec from_csv = LoadSpec((dir_ / "csv.toml").string());
  EXPECT_EQ(from_csv.data.dims, 3);
  EXPECT_EQ(from_csv.data.points, 40);
  EXPECT_NE(CheckText(from_csv).find("data: LoadCsv(" + (dir_ / "ball.csv").string() +
                                     ", label_column=label), 40 rows, 3 features"),
            std::string::npos)
      << CheckText(from_csv);
  RunExperiment(world_, from_ball, {.out = dir_ / "ball", .device = "cpu"});
  RunExperiment(world_, from_csv, {.out = dir_ / "csv", .device = "cpu"});
  EXPECT_EQ(ReadFile(dir_ / "csv" / "results.csv"), ReadFile(dir_ / "ball" / "results.csv"));
}

// The parabolas: 2 features, the same points for every seed.
TEST_F(ExperimentRunTest, TheParabolasRun) {
  const Spec spec = ParseSpec(R"toml(
seeds = 2
[data]
kind = "parabola"
points = 40
[model]
widths = [4]
)toml",
                              "parabola.toml");
  EXPECT_EQ(spec.data.dims, 2);
  EXPECT_EQ(CheckText(spec).find("data: Parabola(n=20), the same for every seed\n"),
            CheckText(spec).find('\n') + 1);
  const RunSummary summary = RunExperiment(world_, spec, {.out = dir_ / "out", .device = "cpu"});
  EXPECT_EQ(summary.runs, 2);
  EXPECT_NE(ReadFile(dir_ / "out" / "results.csv").find("relu_glorot_uniform,1,0,0,h1,grad_ratio,"),
            std::string::npos);
}

// Blobs with one logit per class and the sparse categorical cross-entropy; a regression with
// one linear output on the mean squared error, its metric the MAE: the results name the
// loss's metric, and the trained runs learn (the blobs are well apart).
TEST_F(ExperimentRunTest, BlobsAndRegressionRunWithTheirLosses) {
  const Spec blobs = ParseSpec(R"toml(
seeds = 2
[data]
kind = "blobs"
classes = 4
dims = 2
points = 200
[model]
widths = [8]
[train]
learning_rate = 0.1
epochs = 5
[measure]
evaluate = true
target_accuracy = 0.5
)toml",
                               "blobs.toml");
  EXPECT_EQ(blobs.model.loss, "sparse_categorical_crossentropy");
  EXPECT_EQ(blobs.model.output_units, 4);
  EXPECT_NE(CheckText(blobs).find("data: Blobs(classes=4, n_dims=2, n_points=200, spread=1, "
                                  "center_box=5, seed=s) (seed s draws the points of run seed "
                                  "s)\nmodel: sparse_categorical_crossentropy, 4 outputs\n"),
            std::string::npos)
      << CheckText(blobs);
  RunExperiment(world_, blobs, {.out = dir_ / "blobs", .device = "cpu"});
  const std::string results = ReadFile(dir_ / "blobs" / "results.csv");
  EXPECT_NE(results.find(",eval_accuracy,"), std::string::npos);
  EXPECT_NE(results.find("relu_glorot_uniform,1,0,0,out,grad_ratio,"), std::string::npos);
  double best = 0.0;
  for (const auto& row : CsvRows(dir_ / "blobs" / "results.csv")) {
    if (row[5] == "eval_accuracy") best = std::max(best, std::stod(row[6]));
  }
  EXPECT_GT(best, 0.9) << "4 blobs 10 apart in 2-D, 5 epochs of SGD 0.1";

  const Spec regression = ParseSpec(R"toml(
seeds = 1
[data]
kind = "regression"
dims = 3
points = 100
noise = 0.05
[model]
widths = [8]
activation = "tanh"
[train]
epochs = 2
[measure]
evaluate = true
)toml",
                                    "regression.toml");
  EXPECT_EQ(regression.model.loss, "mean_squared_error");
  EXPECT_EQ(regression.model.output_units, 1);
  RunExperiment(world_, regression, {.out = dir_ / "regression", .device = "cpu"});
  const std::string r = ReadFile(dir_ / "regression" / "results.csv");
  EXPECT_NE(r.find(",mean_absolute_error,"), std::string::npos);
  EXPECT_NE(r.find(",eval_mean_absolute_error,"), std::string::npos);
  EXPECT_EQ(r.find("accuracy"), std::string::npos);
}

// The optimizer and SGD's momentum as grid keys: each configuration trains with its own,
// configs.csv says which, and a momentum for Adam is refused.
TEST_F(ExperimentRunTest, OptimizersAreGridKeys) {
  const Spec spec = ParseSpec(R"toml(
seeds = 1
[data]
dims = 3
points = 40
[model]
widths = [4]
[train]
epochs = 2
batch_size = 8
[[config]]
name = "sgd"
[[config]]
name = "momentum"
momentum = 0.9
[[config]]
name = "adam"
optimizer = "adam"
learning_rate = 0.001
[[config]]
name = "nesterov_l2"
momentum = 0.9
nesterov = true
l2 = 1e-3
)toml",
                              "optimizers.toml");
  ASSERT_EQ(spec.configs.size(), 4u);
  EXPECT_EQ(spec.configs[1].momentum, 0.9);
  EXPECT_TRUE(spec.configs[3].nesterov);
  EXPECT_EQ(spec.configs[3].l2, 1e-3);
  EXPECT_EQ(spec.configs[2].optimizer, "adam");
  EXPECT_NE(CheckText(spec).find("  momentum: relu, glorot_uniform, widths [4], radius_fraction "
                                 "0.5, sgd lr 0.01 momentum 0.9, batch 8, 2 epochs\n"),
            std::string::npos)
      << CheckText(spec);
  RunExperiment(world_, spec, {.out = dir_ / "out", .device = "cpu"});
  const std::string configs = ReadFile(dir_ / "out" / "configs.csv");
  EXPECT_NE(configs.find(",optimizer,momentum,nesterov,l2\n"), std::string::npos) << configs;
  EXPECT_NE(configs.find(",adam,0,false,0\n"), std::string::npos) << configs;
  // Three optimizers from the same initial weights: three different final losses.
  std::vector<std::string> losses;
  for (const auto& row : CsvRows(dir_ / "out" / "results.csv")) {
    if (row[5] == "loss" && row[2] == "2") losses.push_back(row[6]);
  }
  ASSERT_EQ(losses.size(), 4u);
  EXPECT_NE(losses[0], losses[1]);
  EXPECT_NE(losses[0], losses[2]);
  EXPECT_NE(losses[1], losses[3]);
  EXPECT_NE(configs.find("nesterov_l2,relu,glorot_uniform,4,,0.5,0.01,8,2,glorot_uniform,sgd,0.9,"
                         "true,0.001\n"),
            std::string::npos)
      << configs;

  EXPECT_EQ(SpecErrorOf("[train]\noptimizer = \"adma\"\n"),
            "spec.toml:2:13: train.optimizer: unknown optimizer \"adma\"; did you mean \"adam\"? "
            "(valid: sgd adam)");
  EXPECT_EQ(SpecErrorOf("[train]\nnesterov = true\n"),
            "spec.toml:2:12: configuration \"relu_glorot_uniform\": nesterov needs the sgd "
            "optimizer with a momentum > 0");
  EXPECT_EQ(SpecErrorOf("[train]\nl2 = -1\n"),
            "spec.toml:2:6: train.l2 must be a finite number at least 0, not -1");
  EXPECT_EQ(SpecErrorOf("[train]\noptimizer = \"adam\"\nmomentum = 0.5\n"),
            "spec.toml:3:12: configuration \"relu_glorot_uniform\": momentum applies to the sgd "
            "optimizer, not adam (which keeps its own moments)");
}

// measure.histograms: a tensor's equal-width histogram per measurement and layer in
// results.csv, its counts summing to the tensor's size.
TEST_F(ExperimentRunTest, HistogramsReachTheResults) {
  const Spec spec = ParseSpec(R"toml(
seeds = 1
[data]
dims = 3
points = 40
[model]
widths = [6]
[measure]
statistics = ["grad_ratio"]
histogram_bins = 4
histograms = ["z", "kernel"]
)toml",
                              "histograms.toml");
  RunExperiment(world_, spec, {.out = dir_ / "out", .device = "cpu"});
  int64_t z_h1 = 0, kernel_out = 0;
  int bins = 0;
  bool bounds = false;
  for (const auto& row : CsvRows(dir_ / "out" / "results.csv")) {
    if (row[4] == "h1" && row[5].rfind("z_hist_", 0) == 0 && row[5] != "z_hist_lo" &&
        row[5] != "z_hist_hi") {
      z_h1 += std::stoll(row[6]);
      ++bins;
    }
    if (row[4] == "out" && row[5].rfind("kernel_hist_", 0) == 0 && row[5] != "kernel_hist_lo" &&
        row[5] != "kernel_hist_hi") {
      kernel_out += std::stoll(row[6]);
    }
    bounds = bounds || (row[4] == "h1" && row[5] == "z_hist_lo");
  }
  EXPECT_EQ(bins, 4);
  EXPECT_TRUE(bounds);
  EXPECT_EQ(z_h1, 40 * 6);
  EXPECT_EQ(kernel_out, 6);

  EXPECT_EQ(SpecErrorOf("[measure]\nhistograms = [\"zz\"]\n"),
            "spec.toml:2:15: measure.histograms[0]: unknown tensor \"zz\"; did you mean \"z\"? "
            "(valid: z activation kernel bias kernel_grad bias_grad)");
  EXPECT_EQ(SpecErrorOf("[measure]\nhistogram_bins = 0\nhistograms = [\"z\"]\n"),
            "spec.toml:3:14: measure.histograms needs measure.histogram_bins >= 1");
}

TEST_F(ExperimentRunTest, AnInterruptedRunResumesToTheSameResults) {
  const Spec spec = ParseSpec(kTinySpec, "tiny.toml");
  RunExperiment(world_, spec, {.out = dir_ / "whole", .device = "cpu"});

  struct Interrupted : std::runtime_error {
    using std::runtime_error::runtime_error;
  };
  std::vector<int64_t> started;
  const auto stop_at_4 = [&started](int64_t i) {
    if (started.size() == 4) throw Interrupted("killed");
    started.push_back(i);
  };
  EXPECT_THROW(
      RunExperiment(world_, spec, {.out = dir_ / "part", .device = "cpu", .before_run = stop_at_4}),
      Interrupted);
  EXPECT_FALSE(fs::exists(dir_ / "part"));  // nothing committed

  std::vector<int64_t> resumed;
  const RunSummary summary = RunExperiment(
      world_, spec, {.out = dir_ / "part", .device = "cpu", .before_run = [&](int64_t i) {
                       resumed.push_back(i);
                     }});
  EXPECT_EQ(summary.reused, 4);
  EXPECT_EQ(resumed, (std::vector<int64_t>{4, 5}));
  for (const char* file : {"results.csv", "configs.csv", "ratios.csv"}) {
    EXPECT_EQ(ReadFile(dir_ / "part" / file), ReadFile(dir_ / "whole" / file)) << file;
  }
}

TEST_F(ExperimentRunTest, ASecondWriterOfTheSameOutputIsRefused) {
  const Spec spec = ParseSpec(kTinySpec, "tiny.toml");
  const RunStore holder((dir_ / "out").string(), "another experiment");
  try {
    RunExperiment(world_, spec, {.out = dir_ / "out", .device = "cpu"});
    FAIL() << "a second writer was let in";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("is being written by another process"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace fanin::experiment
