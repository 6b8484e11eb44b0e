// The HDF5 recorder: what is written reads back, groups are never silently replaced,
// damaged files give clear errors, and a process that dies mid-run leaves its flushed
// steps readable.
#include "fanin/recorder.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "expect_error.h"
#include "fanin/fanin.h"
#include "test_util.h"

namespace fanin {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class RecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDirectory("fanin_recorder");
    model_.Add(Dense(3, "tanh", "glorot_normal"));
    model_.Add(Dense(1, "linear", "glorot_normal"));
    model_.Compile(BinaryCrossEntropy{}, Sgd{.learning_rate = 0.1f});
    model_.Build(2, 5);
    x_ = Tensor::FromHost(HostBackend(), {8, 2}, testing::RandomFloats(16, -1.0f, 1.0f, 2));
    y_ = Tensor::FromHost(HostBackend(), {8, 1}, std::vector<float>{0, 1, 0, 1, 1, 0, 0, 1});
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // The statistics of `model_` after one forward and backward pass.
  StepStats Step(int64_t step) {
    model_.ComputeGradients(x_, y_);
    return ComputeStepStats(model_, {step, 0, step}, {"hidden", "out"}, 8);
  }

  fs::path dir_;
  Sequential model_{testing::Cpu()};
  Tensor x_, y_;
};

void ExpectSameStats(const StepStats& a, const StepStats& b) {
  EXPECT_EQ(a.context.step, b.context.step);
  EXPECT_EQ(a.context.epoch, b.context.epoch);
  EXPECT_EQ(a.context.batch, b.context.batch);
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (size_t i = 0; i < a.layers.size(); ++i) {
    EXPECT_EQ(a.layers[i].name, b.layers[i].name);
    // NaN for a layer without a kernel.
    if (!std::isnan(b.layers[i].grad_ratio) || !std::isnan(a.layers[i].grad_ratio)) {
      EXPECT_DOUBLE_EQ(a.layers[i].grad_ratio, b.layers[i].grad_ratio);
    }
    ASSERT_EQ(a.layers[i].tensors.size(), b.layers[i].tensors.size());
    for (size_t t = 0; t < a.layers[i].tensors.size(); ++t) {
      SCOPED_TRACE(a.layers[i].name + " " + a.layers[i].tensors[t].name);
      ASSERT_EQ(a.layers[i].tensors[t].name, b.layers[i].tensors[t].name);
      const TensorStats* sa = &a.layers[i].tensors[t].stats;
      const TensorStats* sb = &b.layers[i].tensors[t].stats;
      EXPECT_EQ(sa->count, sb->count);
      EXPECT_EQ(sa->nan_count, sb->nan_count);
      EXPECT_EQ(sa->inf_count, sb->inf_count);
      EXPECT_DOUBLE_EQ(sa->mean, sb->mean);
      EXPECT_DOUBLE_EQ(sa->std, sb->std);
      EXPECT_DOUBLE_EQ(sa->min, sb->min);
      EXPECT_DOUBLE_EQ(sa->max, sb->max);
      EXPECT_EQ(sa->hist_lo, sb->hist_lo);
      EXPECT_EQ(sa->hist_hi, sb->hist_hi);
      EXPECT_EQ(sa->histogram, sb->histogram);
    }
  }
}

TEST_F(RecorderTest, WritesAndReadsBackARun) {
  const Attributes attributes = {{"activation", std::string("tanh")},
                                 {"seed", int64_t{5}},
                                 {"learning_rate", 0.1},
                                 {"sizes", std::vector<int64_t>{2, 3, 1}},
                                 {"tags", std::vector<std::string>{"a", "b"}}};
  std::vector<StepStats> written;
  {
    Recorder recorder(Path("runs.h5"));
    RunWriter run = recorder.CreateRun("tanh/seed_5", attributes, {.expected_steps = 4});
    run.WriteModel(model_, {"hidden", "out"});
    run.AppendWeights(0, model_);
    for (int64_t s = 0; s < 3; ++s) {
      written.push_back(Step(s));
      run.Append(written.back());
    }
    run.AppendEpoch({.epoch = 0, .loss = 0.5, .metric = 0.75, .penalty = 0.0});
    model_.Fit(x_, y_, {.epochs = 1, .batch_size = 4});
    run.AppendWeights(1, model_);
  }

  const RecordedRun run = ReadRun(Path("runs.h5"), "tanh/seed_5");
  for (const auto& [name, value] : attributes) {
    SCOPED_TRACE(name);
    ASSERT_NE(run.attribute(name), nullptr);
    EXPECT_EQ(*run.attribute(name), value);
  }
  ASSERT_NE(run.attribute("fanin_version"), nullptr);
  EXPECT_EQ(*run.attribute("layer_names"),
            AttributeValue(std::vector<std::string>{"hidden", "out"}));
  EXPECT_EQ(*run.attribute("layer_sizes"), AttributeValue(std::vector<int64_t>{2, 3, 1}));
  EXPECT_EQ(run.attribute("missing"), nullptr);

  ASSERT_EQ(run.steps.size(), 3u);
  for (size_t s = 0; s < 3; ++s) ExpectSameStats(run.steps[s], written[s]);

  ASSERT_EQ(run.epochs.size(), 1u);
  EXPECT_EQ(run.metric, "accuracy");
  EXPECT_EQ(run.epochs[0].loss, 0.5);
  EXPECT_EQ(run.epochs[0].metric, 0.75);
  EXPECT_TRUE(std::isnan(run.epochs[0].val_loss));

  ASSERT_EQ(run.weights.size(), 2u);
  EXPECT_EQ(run.weights[1].epoch, 1);
  ASSERT_EQ(run.weights[1].layers.size(), 2u);
  EXPECT_EQ(run.weights[1].layers[0].kernel_shape, (Shape{2, 3}));
  EXPECT_EQ(run.weights[1].layers[0].kernel, model_.layer(0).tensors()["kernel"]->ToHost());
  EXPECT_EQ(run.weights[1].layers[1].bias, model_.layer(1).tensors()["bias"]->ToHost());
  EXPECT_NE(run.weights[0].layers[0].kernel, run.weights[1].layers[0].kernel);
}

// The epochs' metric column is named after the loss's metric; a run keeps one.
TEST_F(RecorderTest, EpochsNameTheirMetric) {
  {
    Recorder recorder(Path("runs.h5"));
    RunWriter run = recorder.CreateRun("fit");
    run.AppendEpoch({.epoch = 0, .loss = 0.5, .metric = 0.25, .val_metric = 0.5},
                    "mean_absolute_error");
    const std::string message =
        testing::ErrorOf([&] { run.AppendEpoch({.epoch = 1}, "accuracy"); });
    EXPECT_NE(message.find("an epoch with metric accuracy, the run's earlier epochs have "
                           "mean_absolute_error"),
              std::string::npos)
        << message;
    EXPECT_NE(
        testing::ErrorOf([&] { run.AppendEpoch({.epoch = 1}, "val_loss"); }).find("cannot name"),
        std::string::npos);
  }
  const RecordedRun run = ReadRun(Path("runs.h5"), "fit");
  EXPECT_EQ(run.metric, "mean_absolute_error");
  ASSERT_EQ(run.epochs.size(), 1u);
  EXPECT_EQ(run.epochs[0].metric, 0.25);
  EXPECT_EQ(run.epochs[0].val_metric, 0.5);
}

// A layer's tensors reach runs.h5 under their LayerTensors names, whatever the layer.
TEST_F(RecorderTest, EveryLayerTensorIsRecordedByName) {
  Sequential model(testing::Cpu());
  model.Add(Dense(3, "tanh"));
  model.Add(BatchNormalization());
  model.Add(Dense(1));
  model.Compile(BinaryCrossEntropy{}, Sgd{});
  model.Build(2, 1);
  model.ComputeGradients(x_, y_);
  const StepStats step = ComputeStepStats(model, {}, {"h1", "bn", "out"}, 4);
  {
    Recorder recorder(Path("runs.h5"));
    RunWriter run = recorder.CreateRun("bn");
    run.WriteModel(model, {"h1", "bn", "out"});
    run.Append(step);
  }
  const RecordedRun run = ReadRun(Path("runs.h5"), "bn");
  ASSERT_EQ(run.steps.size(), 1u);
  ExpectSameStats(run.steps[0], step);
  std::vector<std::string> names;
  for (const NamedStats& t : run.steps[0].layers[1].tensors) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"z", "activation", "gamma", "beta", "gamma_grad",
                                             "beta_grad"}));
}

TEST_F(RecorderTest, ExistingGroupIsAnErrorUnlessOverwriteIsAsked) {
  Recorder recorder(Path("runs.h5"));
  recorder.CreateRun("a/seed_0", {{"version", int64_t{1}}}).Append(Step(0));
  try {
    recorder.CreateRun("a/seed_0");
    FAIL() << "expected an error for an existing group";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("a/seed_0"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("already exists"), std::string::npos) << e.what();
  }
  recorder.CreateRun("a/seed_0", {{"version", int64_t{2}}}, {.overwrite = true});
  recorder.CreateRun("a/seed_1");

  const RecordedRun run = ReadRun(Path("runs.h5"), "a/seed_0");
  EXPECT_EQ(*run.attribute("version"), AttributeValue(int64_t{2}));
  EXPECT_TRUE(run.steps.empty());  // the old run's steps went with its group
  EXPECT_EQ(ListGroups(Path("runs.h5"), "a"), (std::vector<std::string>{"seed_0", "seed_1"}));
  EXPECT_THROW(ReadRun(Path("runs.h5"), "a/seed_9"), std::runtime_error);
}

TEST_F(RecorderTest, AppendModeKeepsEarlierRunsAndTruncateModeDropsThem) {
  { Recorder(Path("runs.h5")).CreateRun("first"); }
  { Recorder(Path("runs.h5"), FileMode::kAppend).CreateRun("second"); }
  EXPECT_EQ(ListGroups(Path("runs.h5")), (std::vector<std::string>{"first", "second"}));
  { Recorder(Path("runs.h5"), FileMode::kTruncate).CreateRun("third"); }
  EXPECT_EQ(ListGroups(Path("runs.h5")), std::vector<std::string>{"third"});
}

// The message of the runtime_error that `f` throws.
template <typename F>
std::string ErrorOf(F f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST_F(RecorderTest, DamagedFilesGiveAClearErrorNamingTheFile) {
  {
    Recorder recorder(Path("runs.h5"));
    RunWriter run = recorder.CreateRun("run");
    for (int s = 0; s < 5; ++s) run.Append(Step(s));
  }
  const auto size = fs::file_size(Path("runs.h5"));
  fs::copy_file(Path("runs.h5"), Path("truncated.h5"));
  fs::resize_file(Path("truncated.h5"), size / 2);
  std::string message = ErrorOf([&] { ReadRun(Path("truncated.h5"), "run"); });
  EXPECT_NE(message.find(Path("truncated.h5")), std::string::npos) << message;
  EXPECT_NE(message.find("truncated"), std::string::npos) << message;
  // Appending to it fails the same way, instead of writing into a broken file.
  message = ErrorOf([&] { Recorder recorder(Path("truncated.h5")); });
  EXPECT_NE(message.find(Path("truncated.h5")), std::string::npos) << message;

  std::ofstream(Path("text.h5")) << "not an HDF5 file\n";
  message = ErrorOf([&] { ReadRun(Path("text.h5"), "run"); });
  EXPECT_NE(message.find(Path("text.h5")), std::string::npos) << message;
  EXPECT_NE(message.find("not an HDF5 file"), std::string::npos) << message;

  message = ErrorOf([&] { ReadRun(Path("missing.h5"), "run"); });
  EXPECT_NE(message.find("missing.h5"), std::string::npos) << message;
}

TEST_F(RecorderTest, AProcessKilledMidRunLeavesItsFlushedStepsReadable) {
  // The steps are computed before the fork: a child of a process that has run OpenMP
  // must not run OpenMP itself.
  std::vector<StepStats> steps;
  for (int s = 0; s < 3; ++s) steps.push_back(Step(s));
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child records the steps and dies without closing anything: no destructors, no
    // H5close, as if it had been killed.
    Recorder recorder(Path("crash.h5"));
    RunWriter run = recorder.CreateRun("run");
    for (const StepStats& step : steps) run.Append(step);
    std::_Exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));

  const RecordedRun run = ReadRun(Path("crash.h5"), "run");
  ASSERT_EQ(run.steps.size(), 3u);
  EXPECT_EQ(run.steps[2].context.step, 2);
  EXPECT_GT(run.steps[2].layers[0]["kernel_grad"]->count, 0);
}

// Runs `body` in a child process whose files may not grow beyond `max_file_bytes` (a full
// disk, as RLIMIT_FSIZE makes it: writes past the limit fail with EFBIG once SIGXFSZ is
// ignored). The child's stderr goes to `stderr_path`; `body`'s return value is its exit
// code, reached through exit() so that HDF5's own exit handlers run as they would in a
// program. Returns the child's wait status.
template <typename F>
int RunWithFileSizeLimit(rlim_t max_file_bytes, const std::string& stderr_path, F body) {
  const pid_t child = fork();
  if (child == 0) {
    std::freopen(stderr_path.c_str(), "w", stderr);
    std::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{max_file_bytes, max_file_bytes};
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) std::_Exit(100);
    std::exit(body());
  }
  int status = -1;
  waitpid(child, &status, 0);
  return status;
}

TEST_F(RecorderTest, AFullDiskIsOneClearErrorAndTheProcessExitsNormally) {
  std::vector<StepStats> steps;
  for (int s = 0; s < 4; ++s) steps.push_back(Step(s));
  const std::string path = Path("full.h5"), message_path = Path("message.txt");
  const int status = RunWithFileSizeLimit(48 * 1024, Path("stderr.txt"), [&] {
    try {
      Recorder recorder(path);
      for (int r = 0; r < 1000; ++r) {
        RunWriter run = recorder.CreateRun("run_" + std::to_string(r), {}, {.expected_steps = 4});
        run.WriteModel(model_, {"hidden", "out"});
        for (const StepStats& step : steps) run.Append(step);
      }
    } catch (const std::runtime_error& e) {
      std::ofstream(message_path) << e.what();
      return 0;
    }
    return 1;  // the limit was never reached
  });
  ASSERT_TRUE(WIFEXITED(status)) << "the child died of signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  const std::string message = testing::ReadFile(message_path);
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("File too large"), std::string::npos) << message;
  EXPECT_EQ(testing::ReadFile(Path("stderr.txt")), "");
}

// A run recorded with `steps` steps, each step's rows written whole.
void RecordSteps(const std::string& path, const std::vector<StepStats>& steps) {
  Recorder recorder(path);
  RunWriter run = recorder.CreateRun("run");
  for (const StepStats& step : steps) run.Append(step);
}

// Grows dataset `name` of `path` by one row, as a process killed between the datasets of
// one Append leaves it. The test binary is not linked to HDF5 (libfanin is, privately), so
// this reaches the functions libfanin loaded.
void GrowByOneRow(const std::string& path, const std::string& name) {
  using Id = int64_t;  // hid_t
  const auto function = [](const char* symbol) {
    void* f = dlsym(RTLD_DEFAULT, symbol);
    if (f == nullptr) throw std::runtime_error(std::string("no HDF5 function ") + symbol);
    return f;
  };
  const auto open_file = reinterpret_cast<Id (*)(const char*, unsigned, Id)>(function("H5Fopen"));
  const auto open_dataset = reinterpret_cast<Id (*)(Id, const char*, Id)>(function("H5Dopen2"));
  const auto get_space = reinterpret_cast<Id (*)(Id)>(function("H5Dget_space"));
  const auto get_dims =
      reinterpret_cast<int (*)(Id, uint64_t*, uint64_t*)>(function("H5Sget_simple_extent_dims"));
  const auto set_extent = reinterpret_cast<int (*)(Id, const uint64_t*)>(function("H5Dset_extent"));
  const auto close = [&](const char* symbol, Id id) {
    reinterpret_cast<int (*)(Id)>(function(symbol))(id);
  };
  const Id file = open_file(path.c_str(), /*H5F_ACC_RDWR*/ 1u, /*H5P_DEFAULT*/ 0);
  ASSERT_GE(file, 0);
  const Id dataset = open_dataset(file, name.c_str(), 0);
  ASSERT_GE(dataset, 0);
  const Id space = get_space(dataset);
  uint64_t dims[8] = {};
  const int rank = get_dims(space, dims, nullptr);
  ASSERT_GE(rank, 1);
  dims[0] += 1;
  EXPECT_GE(set_extent(dataset, dims), 0);
  close("H5Sclose", space);
  close("H5Dclose", dataset);
  close("H5Fclose", file);
}

TEST_F(RecorderTest, ARunKilledMidAppendReadsItsCompleteStepsAndReportsTheTornOne) {
  std::vector<StepStats> steps;
  for (int s = 0; s < 3; ++s) steps.push_back(Step(s));
  RecordSteps(Path("torn.h5"), steps);
  EXPECT_EQ(ReadRun(Path("torn.h5"), "run").torn, "");
  // Append writes steps, then each layer's stats and histogram: killed after the first
  // layer's stats, the others are one row short.
  GrowByOneRow(Path("torn.h5"), "run/steps");
  GrowByOneRow(Path("torn.h5"), "run/hidden/stats");

  const RecordedRun run = ReadRun(Path("torn.h5"), "run");
  ASSERT_EQ(run.steps.size(), 3u);
  for (size_t s = 0; s < 3; ++s) ExpectSameStats(run.steps[s], steps[s]);
  EXPECT_NE(run.torn.find("step 3"), std::string::npos) << run.torn;
  EXPECT_NE(run.torn.find("hidden/histogram 3"), std::string::npos) << run.torn;
}

TEST_F(RecorderTest, AStepWhoseLayersDifferFromTheRunsIsRefusedBeforeAnythingIsWritten) {
  Recorder recorder(Path("runs.h5"));
  RunWriter run = recorder.CreateRun("run");
  run.Append(Step(0));
  model_.ComputeGradients(x_, y_);
  const StepStats renamed = ComputeStepStats(model_, {1, 0, 1}, {"hidden", "output"}, 8);
  const StepStats other_bins = ComputeStepStats(model_, {1, 0, 1}, {"hidden", "out"}, 4);
  const StepStats no_histograms = ComputeStepStats(model_, {1, 0, 1}, {"hidden", "out"}, 0);
  StepStats fewer_layers = Step(1);
  fewer_layers.layers.pop_back();
  StepStats fewer_tensors = Step(1);
  fewer_tensors.layers[1].tensors.erase(fewer_tensors.layers[1].tensors.begin());
  StepStats duplicate = Step(1);
  duplicate.layers[1].name = "hidden";

  std::string message = ErrorOf([&] { run.Append(renamed); });
  EXPECT_NE(message.find("[hidden, output]"), std::string::npos) << message;
  EXPECT_NE(message.find("[hidden, out]"), std::string::npos) << message;
  EXPECT_NE(message.find(Path("runs.h5")), std::string::npos) << message;
  message = ErrorOf([&] { run.Append(other_bins); });
  EXPECT_NE(message.find("4 bins"), std::string::npos) << message;
  message = ErrorOf([&] { run.Append(no_histograms); });
  EXPECT_NE(message.find("0 bins"), std::string::npos) << message;
  message = ErrorOf([&] { run.Append(fewer_layers); });
  EXPECT_NE(message.find("[hidden]"), std::string::npos) << message;
  message = ErrorOf([&] { run.Append(fewer_tensors); });
  EXPECT_NE(message.find("layer 'out'"), std::string::npos) << message;
  message = ErrorOf([&] { run.Append(duplicate); });
  EXPECT_NE(message.find("twice"), std::string::npos) << message;

  // Nothing of the refused steps was written, and the run goes on.
  run.Append(Step(1));
  const RecordedRun back = ReadRun(Path("runs.h5"), "run");
  EXPECT_EQ(back.steps.size(), 2u);
  EXPECT_EQ(back.torn, "");
}

TEST_F(RecorderTest, ReadingAGroupThatIsNotARunNamesIt) {
  { Recorder(Path("runs.h5")).CreateRun("tanh/seed_0").Append(Step(0)); }
  const std::string message = ErrorOf([&] { ReadRun(Path("runs.h5"), "tanh"); });
  EXPECT_NE(message.find("'tanh' is not a run"), std::string::npos) << message;
  EXPECT_NE(message.find(Path("runs.h5")), std::string::npos) << message;
  EXPECT_NE(ErrorOf([&] { ReadRun(Path("runs.h5"), "tanh/seed_0/steps"); }).find("not a group"),
            std::string::npos);
}

TEST_F(RecorderTest, StringAttributesKeepEmbeddedNulBytes) {
  const std::string with_nul("a\0b", 3);
  const Attributes attributes = {{"text", with_nul},
                                 {"texts", std::vector<std::string>{"x\0y", "", "longer text"}},
                                 {"plain", std::string("tanh")}};
  { Recorder(Path("runs.h5")).CreateRun("run", attributes); }
  const RecordedRun run = ReadRun(Path("runs.h5"), "run");
  for (const auto& [name, value] : attributes) {
    ASSERT_NE(run.attribute(name), nullptr) << name;
    EXPECT_EQ(*run.attribute(name), value) << name;
  }
  // A trailing NUL would be taken for padding: refused, naming the attribute.
  const std::string message = ErrorOf([&] {
    Recorder(Path("runs.h5")).CreateRun("other", {{"ends_in_nul", std::string("a\0", 2)}});
  });
  EXPECT_NE(message.find("'ends_in_nul'"), std::string::npos) << message;
}

TEST_F(RecorderTest, AFlippedBitInRecordedDataFailsTheChecksum) {
  // A step number that cannot occur elsewhere in the file marks where its row lies.
  StepStats step = Step(0);
  step.context.step = 0x0123456789abcdefLL;
  RecordSteps(Path("runs.h5"), {step});
  std::string bytes = testing::ReadFile(Path("runs.h5"));
  char pattern[sizeof(int64_t)];
  std::memcpy(pattern, &step.context.step, sizeof(pattern));
  const size_t at = bytes.find(std::string_view(pattern, sizeof(pattern)));
  ASSERT_NE(at, std::string::npos);
  bytes[at] ^= 0x10;
  std::ofstream(Path("flipped.h5"), std::ios::binary) << bytes;

  const std::string message = ErrorOf([&] { ReadRun(Path("flipped.h5"), "run"); });
  EXPECT_NE(message.find(Path("flipped.h5")), std::string::npos) << message;
  EXPECT_NE(message.find("Fletcher32"), std::string::npos) << message;
}

}  // namespace
}  // namespace fanin
