// Fused statistics on the GPU: the step's own kernels summarize what they write, training is
// unchanged by them (bit for bit on the GPU), and they agree with the CPU's on the same model
// at initialization, where both backends start from the same bits.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "cuda_test_util.h"
#include "fanin/stats_hook.h"

namespace fanin::testing {
namespace {

using CudaFusedStatsTest = CudaTest;

Sequential Model(std::shared_ptr<Backend> backend, Optimizer optimizer) {
  Sequential model(std::move(backend));
  model.Add(Dense(300, "tanh", "glorot_normal"));
  model.Add(Dense(300, "relu", "he_uniform"));
  model.Add(Dense(1));
  model.Compile(BinaryCrossEntropy{}, optimizer);
  model.Build(10, 5);
  return model;
}

std::shared_ptr<StatsHook> Fused() {
  return std::make_shared<StatsHook>(
      StatsHookOptions{.mode = StatsMode::kFused, .log2_histograms = StepSchedule::EveryStep()});
}

TEST_F(CudaFusedStatsTest, TrainingIsBitIdenticalWithAndWithoutThem) {
  const Dataset data = Ball(10, 700);
  for (const Optimizer& optimizer :
       {Optimizer{Sgd{.learning_rate = 0.05f}},
        Optimizer{Sgd{.learning_rate = 0.05f, .momentum = 0.9f}}, Optimizer{Adam{}}}) {
    std::vector<std::vector<float>> runs;
    for (bool stats : {false, true}) {
      Sequential model = Model(gpu_, optimizer);
      if (stats) model.AddHook(Fused());
      for (int step = 0; step < 3; ++step) model.TrainStep(data.x, data.y);
      runs.push_back(model.parameters().ToHost());
    }
    EXPECT_EQ(std::memcmp(runs[0].data(), runs[1].data(), runs[0].size() * sizeof(float)), 0);
  }
}

// At initialization (ComputeGradients: parameters summarized after the pass) and after one
// update: the kernels and their gradients are the same bits on both backends before the first
// update, so their counts, min, max and bins must be equal and their mean and std agree to
// double rounding; z, activations and gradients differ by the GEMMs' summation order
// (1e-6 relative, as BlockModelLossesMatchCpu allows), so only their counts are exact.
TEST_F(CudaFusedStatsTest, AgreeWithTheCpu) {
  const Dataset data = Ball(10, 700);
  std::vector<std::shared_ptr<StatsHook>> hooks;
  for (const auto& backend : {cpu_, gpu_}) {
    Sequential model = Model(backend, Sgd{.learning_rate = 0.05f});
    hooks.push_back(Fused());
    model.AddHook(hooks.back());
    model.ComputeGradients(data.x, data.y);
    model.TrainStep(data.x, data.y);
  }
  ASSERT_EQ(hooks[0]->steps().size(), 2u);
  ASSERT_EQ(hooks[1]->steps().size(), 2u);
  for (size_t s = 0; s < 2; ++s) {
    for (size_t l = 0; l < 3; ++l) {
      const LayerStats& c = hooks[0]->steps()[s].layers[l];
      const LayerStats& g = hooks[1]->steps()[s].layers[l];
      const TensorStats& ck = *c["kernel"];
      const TensorStats& gk = *g["kernel"];
      EXPECT_EQ(gk.count, ck.count);
      EXPECT_EQ(gk.min, ck.min);
      EXPECT_EQ(gk.max, ck.max);
      EXPECT_EQ(gk.log2_histogram, ck.log2_histogram);
      EXPECT_NEAR(gk.std, ck.std, 1e-12 * ck.std);
      ASSERT_EQ(g.tensors.size(), c.tensors.size());
      for (const NamedStats& named : c.tensors) {
        SCOPED_TRACE(named.name);
        const TensorStats* gt = g[named.name];
        ASSERT_NE(gt, nullptr);
        EXPECT_EQ(gt->count, named.stats.count);
        EXPECT_EQ(gt->nan_count, 0);
        EXPECT_NEAR(gt->std, named.stats.std, 1e-4 * named.stats.std + 1e-12);
      }
      if (s == 1) {
        ASSERT_TRUE(g.kernel_update.has_value());
        EXPECT_NEAR(g.update_ratio, c.update_ratio, 1e-4 * c.update_ratio);
      }
    }
  }
}

}  // namespace
}  // namespace fanin::testing
