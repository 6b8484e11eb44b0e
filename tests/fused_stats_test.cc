// StatsHook in StatsMode::kFused: the statistics the step's own passes compute agree with the
// exact two-pass ones on the same tensors, cost no change to training (the same parameters
// bit for bit with and without them), do not depend on the thread count, and the new
// statistics (zeros, saturation, the update and its ratio) count what they say.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fanin/fanin.h"
#include "fanin/stats_hook.h"
#include "ops/stats/reference.h"
#include "test_util.h"

namespace fanin {
namespace {

using testing::Cpu;

struct Data {
  Tensor x, y;
};

Data MakeData(int64_t rows, int64_t features, uint64_t seed) {
  std::vector<float> labels(static_cast<size_t>(rows));
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<float>(i % 3 == 0);
  return {Tensor::FromHost(HostBackend(), {rows, features},
                           testing::RandomFloats(rows * features, -2.0f, 2.0f, seed)),
          Tensor::FromHost(HostBackend(), {rows, 1}, labels)};
}

// Every kind of activation path: oneDNN's (tanh, sigmoid), the table's loops (relu, gelu),
// a separate activation layer, and the linear output that aliases z.
Sequential MakeModel(std::shared_ptr<Backend> backend, Optimizer optimizer, int64_t width = 9) {
  Sequential model(std::move(backend));
  model.Add(Dense(width, "tanh", "glorot_normal"));
  model.Add(Dense(width, "relu", "he_uniform"));
  model.Add(Dense(width, "linear", "glorot_uniform"));
  model.Add(ActivationLayer("sigmoid"));
  model.Add(Dense(width, "gelu", "lecun_normal"));
  model.Add(Dense(1, "linear", "normal(0,0.5)"));
  model.Compile(BinaryCrossEntropy{}, optimizer);
  model.Build(4, 11);
  return model;
}

std::shared_ptr<StatsHook> FusedHook(bool log2 = true) {
  return std::make_shared<StatsHook>(StatsHookOptions{
      .schedule = StepSchedule::EveryStep(),
      .mode = StatsMode::kFused,
      .log2_histograms = log2 ? std::optional(StepSchedule::EveryStep()) : std::nullopt});
}

TEST(FusedStatsTest, AgreeWithTheExactStatisticsOfTheSameStep) {
  const Data d = MakeData(40, 4, 1);
  for (const Optimizer& optimizer :
       {Optimizer{Sgd{.learning_rate = 0.1f}},
        Optimizer{Sgd{.learning_rate = 0.1f, .momentum = 0.9f}}, Optimizer{Adam{}}}) {
    Sequential model = MakeModel(Cpu(), optimizer);
    auto exact = std::make_shared<StatsHook>(StatsHookOptions{.histogram_bins = 0});
    auto fused = FusedHook();
    model.AddHook(exact);
    model.AddHook(fused);
    for (int step = 0; step < 3; ++step) model.TrainStep(d.x, d.y);
    ASSERT_EQ(exact->steps().size(), 3u);
    ASSERT_EQ(fused->steps().size(), 3u);
    for (size_t s = 0; s < 3; ++s) {
      const StepStats& e = exact->steps()[s];
      const StepStats& f = fused->steps()[s];
      EXPECT_EQ(f.context.step, e.context.step);
      ASSERT_EQ(f.layers.size(), e.layers.size());
      for (size_t l = 0; l < e.layers.size(); ++l) {
        // The same tensors, in the same order, in both modes.
        ASSERT_EQ(f.layers[l].tensors.size(), e.layers[l].tensors.size());
        for (size_t t = 0; t < e.layers[l].tensors.size(); ++t) {
          SCOPED_TRACE("step " + std::to_string(s) + " layer " + std::to_string(l) + " " +
                       e.layers[l].tensors[t].name);
          ASSERT_EQ(f.layers[l].tensors[t].name, e.layers[l].tensors[t].name);
          const TensorStats& a = f.layers[l].tensors[t].stats;
          const TensorStats& b = e.layers[l].tensors[t].stats;
          EXPECT_EQ(a.count, b.count);
          EXPECT_EQ(a.nan_count, b.nan_count);
          EXPECT_EQ(a.min, b.min);
          EXPECT_EQ(a.max, b.max);
          EXPECT_EQ(a.log2_histogram.size(), static_cast<size_t>(kLog2Bins));
          // Far inside the bound of ops/stats/reference.h for these sizes (checked there).
          EXPECT_NEAR(a.mean, b.mean, 1e-12 * (1 + std::fabs(b.mean)));
          EXPECT_NEAR(a.std, b.std, 1e-10 * b.std + 1e-15);
        }
        if (!std::isnan(e.layers[l].grad_ratio)) {
          EXPECT_NEAR(f.layers[l].grad_ratio, e.layers[l].grad_ratio,
                      1e-9 * e.layers[l].grad_ratio);
        }
      }
    }
  }
}

// The parameters after the same steps, with fused statistics on every step and without any.
std::vector<float> TrainedParameters(std::shared_ptr<Backend> backend, Optimizer optimizer,
                                     bool with_stats, const Data& d, int64_t width) {
  Sequential model = MakeModel(std::move(backend), optimizer, width);
  if (with_stats) model.AddHook(FusedHook());
  for (int step = 0; step < 4; ++step) model.TrainStep(d.x, d.y);
  return model.parameters().ToHost();
}

TEST(FusedStatsTest, TrainingIsBitIdenticalWithAndWithoutThem) {
  // 300 rows x 500 units: layers above the size where the CPU splits loops over threads.
  const Data d = MakeData(300, 4, 2);
  for (const Optimizer& optimizer :
       {Optimizer{Sgd{.learning_rate = 0.05f}},
        Optimizer{Sgd{.learning_rate = 0.05f, .momentum = 0.9f}}, Optimizer{Adam{}}}) {
    const std::vector<float> plain = TrainedParameters(Cpu(2), optimizer, false, d, 500);
    const std::vector<float> fused = TrainedParameters(Cpu(2), optimizer, true, d, 500);
    ASSERT_EQ(plain.size(), fused.size());
    EXPECT_EQ(std::memcmp(plain.data(), fused.data(), plain.size() * sizeof(float)), 0);
  }
}

// The statistics of every step, as bits, to compare runs.
std::vector<double> Fingerprint(const StatsHook& hook) {
  std::vector<double> values;
  for (const StepStats& step : hook.steps()) {
    for (const LayerStats& layer : step.layers) {
      for (const NamedStats& named : layer.tensors) {
        const TensorStats& t = named.stats;
        values.insert(values.end(), {t.mean, t.std, t.min, t.max, static_cast<double>(t.zero_count),
                                     static_cast<double>(t.saturated_count)});
        for (int64_t c : t.log2_histogram) values.push_back(static_cast<double>(c));
      }
      values.push_back(layer.update_ratio);
    }
  }
  return values;
}

TEST(FusedStatsTest, TheSameBitsOnOneAndTwoThreads) {
  const Data d = MakeData(300, 4, 3);
  std::vector<std::vector<double>> runs;
  for (int threads : {1, 2}) {
    Sequential model = MakeModel(Cpu(threads), Sgd{.learning_rate = 0.05f}, 500);
    auto hook = FusedHook();
    model.AddHook(hook);
    for (int step = 0; step < 2; ++step) model.TrainStep(d.x, d.y);
    runs.push_back(Fingerprint(*hook));
  }
  ASSERT_EQ(runs[0].size(), runs[1].size());
  ASSERT_FALSE(runs[0].empty());
  EXPECT_EQ(std::memcmp(runs[0].data(), runs[1].data(), runs[0].size() * sizeof(double)), 0);
}

// Zeros, saturation and log2 bins counted on the host from the tensors themselves, and the
// update ratio from the parameters before and after the step.
TEST(FusedStatsTest, ZerosSaturationHistogramAndUpdateRatioCountWhatTheySay) {
  const Data d = MakeData(64, 4, 4);
  Sequential model = MakeModel(Cpu(), Sgd{.learning_rate = 0.5f});
  std::vector<std::vector<float>> activations;
  auto callback =
      std::make_shared<LayerCallbackHook>(StepSchedule::InitializationOnly(), std::nullopt,
                                          [&](const StepContext&, size_t, const LayerTensors& t) {
                                            activations.push_back(t["activation"]->ToHost());
                                          });
  auto fused = FusedHook();
  model.AddHook(callback);
  model.AddHook(fused);
  const std::vector<float> before = model.parameters().ToHost();
  model.TrainStep(d.x, d.y);
  const std::vector<float> after = model.parameters().ToHost();
  ASSERT_EQ(fused->steps().size(), 1u);
  const StepStats& step = fused->steps()[0];
  const SaturationBand bands[] = {{-0.99f, 0.99f}, {}, {}, {0.01f, 0.99f}, {}, {}};
  for (size_t l = 0; l < step.layers.size(); ++l) {
    SCOPED_TRACE("layer " + std::to_string(l));
    const TensorStats& a = *step.layers[l]["activation"];
    testing::ExpectSummaryEquivalent(a, activations[l], bands[l], true, "activation");
  }
  EXPECT_GT(step.layers[1]["activation"]->zero_count, 0);  // ReLU's dead units
  size_t offset = 0;
  const std::vector<ParameterExtent>& extents = model.parameter_extents();
  for (size_t l = 0, p = 0; l < step.layers.size(); ++l) {
    const LayerStats& layer = step.layers[l];
    if (!layer["kernel"]) {
      EXPECT_FALSE(layer.kernel_update.has_value());
      EXPECT_TRUE(std::isnan(layer.update_ratio));
      continue;
    }
    const ParameterExtent& kernel = extents[p];
    p += 2;  // kernel, bias
    double update_sq = 0.0, kernel_sq = 0.0;
    std::vector<float> update;
    for (int64_t i = kernel.offset; i < kernel.offset + kernel.size; ++i) {
      const float delta = after[static_cast<size_t>(i)] - before[static_cast<size_t>(i)];
      update.push_back(delta);
      update_sq += static_cast<double>(delta) * delta;
      kernel_sq +=
          static_cast<double>(before[static_cast<size_t>(i)]) * before[static_cast<size_t>(i)];
    }
    ASSERT_TRUE(layer.kernel_update.has_value());
    testing::ExpectSummaryEquivalent(*layer.kernel_update, update, {}, true, "kernel update");
    EXPECT_NEAR(layer.update_ratio, std::sqrt(update_sq / kernel_sq),
                1e-9 * std::sqrt(update_sq / kernel_sq));
    offset += static_cast<size_t>(kernel.size);
  }
  EXPECT_GT(offset, 0u);
}

TEST(FusedStatsTest, ComputeGradientsReportsParametersButNoUpdate) {
  const Data d = MakeData(20, 4, 5);
  Sequential model = MakeModel(Cpu(), Sgd{});
  auto exact = std::make_shared<StatsHook>(StatsHookOptions{.histogram_bins = 0});
  auto fused = FusedHook(false);
  model.AddHook(exact);
  model.AddHook(fused);
  model.ComputeGradients(d.x, d.y);
  ASSERT_EQ(fused->steps().size(), 1u);
  const LayerStats& e = exact->steps()[0].layers[0];
  const LayerStats& f = fused->steps()[0].layers[0];
  EXPECT_FALSE(f.kernel_update.has_value());
  EXPECT_NE(f["kernel_grad"], nullptr);
  EXPECT_TRUE(f["kernel_grad"]->log2_histogram.empty());
  EXPECT_NEAR(f.grad_ratio, e.grad_ratio, 1e-9 * e.grad_ratio);
}

// The default: moments at every recorded step, log2 histograms at steps 0, 10, 20, ...
TEST(FusedStatsTest, HistogramsFollowTheirOwnSchedule) {
  const Data d = MakeData(20, 4, 7);
  Sequential model = MakeModel(Cpu(), Sgd{});
  auto hook = std::make_shared<StatsHook>(StatsHookOptions{.mode = StatsMode::kFused});
  model.AddHook(hook);
  for (int step = 0; step < 12; ++step) model.TrainStep(d.x, d.y);
  ASSERT_EQ(hook->steps().size(), 12u);
  for (const StepStats& step : hook->steps()) {
    const bool histogram = step.context.step % 10 == 0;
    for (const LayerStats& layer : step.layers) {
      EXPECT_EQ(layer["z"]->log2_histogram.size(), histogram ? kLog2Bins : 0u)
          << "step " << step.context.step;
    }
  }
}

TEST(FusedStatsTest, ScheduleAndLayerNamesApply) {
  const Data d = MakeData(20, 4, 6);
  Sequential model = MakeModel(Cpu(), Sgd{});
  auto hook = std::make_shared<StatsHook>(
      StatsHookOptions{.schedule = StepSchedule::Every(2),
                       .mode = StatsMode::kFused,
                       .layer_names = {"a", "b", "c", "d", "e", "out"}});
  model.AddHook(hook);
  for (int step = 0; step < 5; ++step) model.TrainStep(d.x, d.y);
  ASSERT_EQ(hook->steps().size(), 3u);  // steps 0, 2, 4
  EXPECT_EQ(hook->steps()[2].context.step, 4);
  EXPECT_EQ(hook->steps()[0].layers[5].name, "out");

  auto wrong = std::make_shared<StatsHook>(
      StatsHookOptions{.mode = StatsMode::kFused, .layer_names = {"only", "two"}});
  model.AddHook(wrong);
  EXPECT_THROW(model.TrainStep(d.x, d.y), std::invalid_argument);
}

}  // namespace
}  // namespace fanin
