// StatsHook and LayerCallbackHook: the statistics match a plain computation over the same
// tensors, the schedule picks the right steps, and a step no hook wants costs nothing.
#include "fanin/stats_hook.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "expect_error.h"
#include "fanin/fanin.h"
#include "ops/dispatch.h"
#include "test_util.h"

namespace fanin {
namespace {

using testing::Cpu;
using testing::Moments;

// A small model with every kind of layer tensor, and data for it.
struct Fixture {
  explicit Fixture(std::shared_ptr<Backend> backend = Cpu()) : model(backend) {
    model.Add(Dense(7, "tanh", "glorot_normal"));
    model.Add(Dense(5, "relu", "he_uniform"));
    model.Add(Dense(1, "linear", "normal(0,0.5)"));
    model.Compile(BinaryCrossEntropy{}, Sgd{.learning_rate = 0.1f});
    model.Build(4, 3);
    x = Tensor::FromHost(HostBackend(), {50, 4}, testing::RandomFloats(200, -2.0f, 2.0f, 1));
    std::vector<float> labels(50);
    for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<float>(i % 3 == 0);
    y = Tensor::FromHost(HostBackend(), {50, 1}, labels);
  }
  Sequential model;
  Tensor x, y;
};

// The histogram a plain loop gives: `bins` equal bins over [lo, hi], hi in the last bin.
std::vector<int64_t> PlainHistogram(const std::vector<float>& values, double lo, double hi,
                                    int bins) {
  std::vector<int64_t> counts(static_cast<size_t>(bins), 0);
  for (float v : values) {
    if (v < lo || v > hi) continue;
    const int bin = std::min(bins - 1, static_cast<int>((v - lo) / (hi - lo) * bins));
    ++counts[static_cast<size_t>(bin)];
  }
  return counts;
}

TEST(StatsHookTest, StatisticsMatchAPlainComputationOverTheSameTensors) {
  Fixture f;
  constexpr int kBins = 16;
  auto hook =
      std::make_shared<StatsHook>(StatsHookOptions{.schedule = StepSchedule::InitializationOnly(),
                                                   .histogram_bins = kBins,
                                                   .layer_names = {"h1", "h2", "out"}});
  f.model.AddHook(hook);
  f.model.ComputeGradients(f.x, f.y);

  ASSERT_EQ(hook->steps().size(), 1u);
  const StepStats& step = hook->steps()[0];
  EXPECT_EQ(step.context.step, 0);
  EXPECT_EQ(step.context.epoch, -1);  // ComputeGradients is a pass outside Fit
  ASSERT_EQ(step.layers.size(), 3u);
  EXPECT_EQ(step.layers[0].name, "h1");
  EXPECT_EQ(step.layers[2].name, "out");

  for (size_t i = 0; i < 3; ++i) {
    const LayerTensors tensors = f.model.layer(i).tensors();
    // Every listed tensor but the input, in the layer's order.
    std::vector<std::string> expected;
    for (const NamedTensor& t : tensors.list) {
      if (t.role != TensorRole::kInput) expected.push_back(t.name);
    }
    std::vector<std::string> names;
    for (const NamedStats& t : step.layers[i].tensors) names.push_back(t.name);
    EXPECT_EQ(names, expected);
    EXPECT_EQ(names, (std::vector<std::string>{"z", "activation", "kernel", "bias", "kernel_grad",
                                               "bias_grad"}));
    for (const std::string& name : expected) {
      SCOPED_TRACE("layer " + std::to_string(i) + " " + name);
      const TensorStats* s = step.layers[i][name];
      ASSERT_NE(s, nullptr);
      const std::vector<float> values = tensors[name]->ToHost();
      const testing::SampleMoments m = Moments(values);
      EXPECT_EQ(s->count, static_cast<int64_t>(values.size()));
      EXPECT_EQ(s->nan_count, 0);
      EXPECT_EQ(s->inf_count, 0);
      const double scale = std::max(1e-12, std::abs(m.std) + std::abs(m.mean));
      EXPECT_NEAR(s->mean, m.mean, 1e-5 * scale);
      EXPECT_NEAR(s->std, m.std, 1e-5 * scale);
      EXPECT_EQ(s->min, m.min);
      EXPECT_EQ(s->max, m.max);
      ASSERT_EQ(s->histogram.size(), static_cast<size_t>(kBins));
      if (m.max > m.min) {
        EXPECT_FLOAT_EQ(s->hist_lo, static_cast<float>(m.min));
        EXPECT_FLOAT_EQ(s->hist_hi, static_cast<float>(m.max));
        EXPECT_EQ(s->histogram, PlainHistogram(values, m.min, m.max, kBins));
      }
    }
    const double kernel_std = Moments(tensors["kernel"]->ToHost()).std;
    const double grad_std = Moments(tensors["kernel_grad"]->ToHost()).std;
    EXPECT_NEAR(step.layers[i].grad_ratio, grad_std / kernel_std, 1e-5 * grad_std / kernel_std);
  }
}

TEST(StatsHookTest, ScheduleChoosesTheSteps) {
  EXPECT_TRUE(StepSchedule::EveryStep().Contains({.step = 0}));
  EXPECT_TRUE(StepSchedule::EveryStep().Contains({.step = 7}));
  EXPECT_TRUE(StepSchedule::Every(3).Contains({.step = 6}));
  EXPECT_FALSE(StepSchedule::Every(3).Contains({.step = 7}));
  EXPECT_TRUE(StepSchedule::InitializationOnly().Contains({.step = 0}));
  EXPECT_FALSE(StepSchedule::InitializationOnly().Contains({.step = 5}));
  EXPECT_TRUE(StepSchedule::EveryEpochs(2).Contains({.step = 10, .epoch = 2, .batch = 0}));
  EXPECT_FALSE(StepSchedule::EveryEpochs(2).Contains({.step = 11, .epoch = 2, .batch = 1}));
  EXPECT_FALSE(StepSchedule::EveryEpochs(2).Contains({.step = 5, .epoch = 1, .batch = 0}));
  EXPECT_FALSE(StepSchedule::EveryEpochs(2).Contains({.step = 0, .epoch = -1, .batch = 0}));

  Fixture f;
  auto every_third = std::make_shared<StatsHook>(
      StatsHookOptions{.schedule = StepSchedule::Every(3), .histogram_bins = 0});
  auto first_only = std::make_shared<StatsHook>(
      StatsHookOptions{.schedule = StepSchedule::InitializationOnly(), .histogram_bins = 0});
  f.model.AddHook(every_third);
  f.model.AddHook(first_only);
  // 50 samples in batches of 10: 5 steps per epoch, 10 steps in all (0..9).
  f.model.Fit(f.x, f.y, {.epochs = 2, .batch_size = 10});

  std::vector<int64_t> steps;
  for (const StepStats& s : every_third->steps()) steps.push_back(s.context.step);
  EXPECT_EQ(steps, (std::vector<int64_t>{0, 3, 6, 9}));
  EXPECT_EQ(every_third->steps()[2].context.epoch, 1);
  EXPECT_EQ(every_third->steps()[2].context.batch, 1);
  ASSERT_EQ(first_only->steps().size(), 1u);
  EXPECT_TRUE(first_only->steps()[0].layers[0]["z"]->histogram.empty());
}

// A per-epoch schedule: the first step of every k-th epoch, whatever the steps per epoch,
// and not a pass outside Fit.
TEST(StatsHookTest, AnEpochScheduleTakesTheFirstStepOfEveryKthEpoch) {
  Fixture f;
  auto hook = std::make_shared<StatsHook>(
      StatsHookOptions{.schedule = StepSchedule::EveryEpochs(2), .histogram_bins = 0});
  f.model.AddHook(hook);
  f.model.ComputeGradients(f.x, f.y);
  // 50 samples in batches of 20: 3 steps per epoch (the last of 10 samples).
  f.model.Fit(f.x, f.y, {.epochs = 5, .batch_size = 20});
  std::vector<std::pair<int64_t, int>> seen;
  for (const StepStats& s : hook->steps()) seen.emplace_back(s.context.step, s.context.epoch);
  EXPECT_EQ(seen, (std::vector<std::pair<int64_t, int>>{{0, 0}, {6, 2}, {12, 4}}));
}

TEST(StatsHookTest, SinkReceivesEveryRecordedStep) {
  Fixture f;
  std::vector<int64_t> seen;
  auto hook = std::make_shared<StatsHook>(
      StatsHookOptions{.schedule = StepSchedule::Every(2),
                       .keep_in_memory = false,
                       .sink = [&seen](const StepStats& s) { seen.push_back(s.context.step); }});
  f.model.AddHook(hook);
  f.model.Fit(f.x, f.y, {.epochs = 1, .batch_size = 10});
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 2, 4}));
  EXPECT_TRUE(hook->steps().empty());
}

TEST(StatsHookTest, WrongNumberOfLayerNamesThrows) {
  Fixture f;
  f.model.AddHook(std::make_shared<StatsHook>(StatsHookOptions{.layer_names = {"only_one"}}));
  EXPECT_THROW(f.model.ComputeGradients(f.x, f.y), std::invalid_argument);
}

TEST(StatsHookTest, RefusesANegativeOrHugeBinCountNamingIt) {
  for (int bins : {-5, (1 << 20) + 1}) {
    SCOPED_TRACE(bins);
    testing::ExpectThrowsWith<std::invalid_argument>(
        [&] { (void)StatsHook(StatsHookOptions{.histogram_bins = bins}); },
        {"StatsHook", "histogram_bins", std::to_string(bins)});
    Fixture f;
    f.model.ComputeGradients(f.x, f.y);
    testing::ExpectThrowsWith<std::invalid_argument>(
        [&] { ComputeStepStats(f.model, StepContext{}, {}, bins); },
        {"ComputeStepStats", "histogram_bins"});
  }
  EXPECT_NO_THROW((void)StatsHook(StatsHookOptions{.histogram_bins = 0}));
}

TEST(StatsHookTest, NonFiniteValuesAreCountedApart) {
  // A Dense(2) whose kernel is overwritten with a NaN and an Inf: Stats counts them apart
  // and summarizes the finite values only.
  Sequential model(Cpu());
  model.Add(Dense(2, "linear", "ones"));
  model.Compile();
  model.Build(2, 0);
  Tensor kernel = *model.layer(0).tensors()["kernel"];
  kernel.CopyFromHost(std::vector<float>{NAN, INFINITY, 1.0f, 3.0f});
  const StepStats step = ComputeStepStats(model, {}, {}, 4);
  const TensorStats& s = *step.layers[0]["kernel"];
  EXPECT_EQ(step.layers[0].name, "layer0");
  EXPECT_EQ(s.count, 4);
  EXPECT_EQ(s.nan_count, 1);
  EXPECT_EQ(s.inf_count, 1);
  EXPECT_DOUBLE_EQ(s.mean, 2.0);
  EXPECT_DOUBLE_EQ(s.std, 1.0);
}

TEST(LayerCallbackHookTest, SeesTheChosenLayersTensors) {
  Fixture f;
  std::vector<size_t> layers_seen;
  const Tensor* kernel_seen = nullptr;
  f.model.AddHook(std::make_shared<LayerCallbackHook>(
      StepSchedule::InitializationOnly(), 1,
      [&](const StepContext& context, size_t layer, const LayerTensors& tensors) {
        EXPECT_EQ(context.step, 0);
        layers_seen.push_back(layer);
        kernel_seen = tensors["kernel"];
      }));
  std::vector<size_t> all_layers;
  f.model.AddHook(std::make_shared<LayerCallbackHook>(
      StepSchedule::EveryStep(), std::nullopt,
      [&](const StepContext&, size_t layer, const LayerTensors&) { all_layers.push_back(layer); }));
  f.model.ComputeGradients(f.x, f.y);
  EXPECT_EQ(layers_seen, std::vector<size_t>{1});
  EXPECT_EQ(kernel_seen, f.model.layer(1).tensors()["kernel"]);
  EXPECT_EQ(all_layers, (std::vector<size_t>{0, 1, 2}));

  f.model.ClearHooks();
  f.model.AddHook(std::make_shared<LayerCallbackHook>(
      StepSchedule::EveryStep(), 9, [](const StepContext&, size_t, const LayerTensors&) {}));
  EXPECT_THROW(f.model.ComputeGradients(f.x, f.y), std::out_of_range);
}

// Counts the op calls made while it lives, by name (through the ops' one dispatch point).
class OpCallCounter {
 public:
  std::map<std::string, int> calls;

  OpCallCounter() {
    ops::internal::SetCallObserver(
        [](std::string_view op, void* self) {
          ++static_cast<OpCallCounter*>(self)->calls[std::string(op)];
        },
        this);
  }
  ~OpCallCounter() { ops::internal::SetCallObserver(nullptr, nullptr); }
  OpCallCounter(const OpCallCounter&) = delete;
  OpCallCounter& operator=(const OpCallCounter&) = delete;
};

// A hook that wants no step: attaching it must not change what a step does.
class NeverHook : public Hook {
 public:
  bool Wants(const StepContext&) const override { return false; }
  void OnStep(const StepContext&, const Sequential&) override { ADD_FAILURE() << "not wanted"; }
};

TEST(StatsHookTest, StepsNoHookWantsDoNoExtraBackendWork) {
  Fixture f;
  const Tensor x = f.x.To(f.model.backend_ptr()), y = f.y.To(f.model.backend_ptr());
  f.model.TrainStep(x, y);  // warm-up: grows the layers' buffers to this batch
  OpCallCounter counting;

  counting.calls.clear();
  f.model.TrainStep(x, y);
  const std::map<std::string, int> bare = counting.calls;
  EXPECT_EQ(bare.count("Stats"), 0u);

  f.model.AddHook(std::make_shared<NeverHook>());
  f.model.AddHook(std::make_shared<StatsHook>(
      StatsHookOptions{.schedule = StepSchedule::InitializationOnly()}));
  counting.calls.clear();
  f.model.TrainStep(x, y);  // step 2: neither hook wants it
  EXPECT_EQ(counting.calls, bare);

  // A wanted step adds exactly one batched Stats call for all layers' tensors.
  auto hook = std::make_shared<StatsHook>(StatsHookOptions{.schedule = StepSchedule::EveryStep()});
  f.model.ClearHooks();
  f.model.AddHook(hook);
  counting.calls.clear();
  f.model.TrainStep(x, y);
  std::map<std::string, int> expected = bare;
  expected["Stats"] = 1;
  EXPECT_EQ(counting.calls, expected);
  ASSERT_EQ(hook->steps().size(), 1u);
  EXPECT_EQ(hook->steps()[0].context.step, 3);
}

}  // namespace
}  // namespace fanin
