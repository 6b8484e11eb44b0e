// BatchNormalization in a model: gradients against finite differences, the moving statistics'
// momentum steps and their use in inference, what the statistics hooks see, checkpoints that
// restore the moving statistics and resume exactly, and a BLOCK-like model that trains.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "fanin/checkpoint.h"
#include "fanin/fanin.h"
#include "tests/expect_error.h"
#include "tests/model_checks.h"
#include "tests/test_util.h"

namespace fanin {
namespace {

using testing::Cpu;
using testing::ErrorOf;

Sequential Model(int threads = 2, float momentum = 0.9f) {
  Sequential m(Cpu(threads));
  m.Add(Dense(8, "tanh"));
  m.Add(BatchNormalization({.epsilon = 1e-3f, .momentum = momentum}));
  m.Add(Dense(1));
  m.Compile(BinaryCrossEntropy(), Adam{.learning_rate = 0.01f});
  m.Build(4, 31);
  return m;
}

// Central differences of the mean loss in float (h = 1e-3) against ComputeGradients: the
// batch mean and variance depend on every weight of the first layer, so a backward that
// forgets them errs by O(1) there.
TEST(BatchNormalizationTest, GradientsMatchFiniteDifferences) {
  Sequential m = Model();
  EXPECT_GT(testing::ExpectGradientsMatchDifferences(m, Ball(4, 64, 0.5, 5), 1e-3f, 3e-3, 3e-4, 6),
            25);
}

TEST(BatchNormalizationTest, MovingStatisticsStepAndServeInference) {
  const Dataset data = Ball(4, 50, 0.5, 6);
  Sequential m = Model();
  const auto state = m.layer(1).state();
  ASSERT_EQ(state.size(), 2u);
  EXPECT_EQ(state[0].first, "moving_mean");
  EXPECT_EQ(state[1].first, "moving_variance");
  m.ComputeGradients(data.x, data.y);
  // One step from (0, 1) towards the batch statistics of layer 0's activations.
  const std::vector<float> a = m.layer(0).tensors()["activation"]->ToHost();
  const std::vector<float> mm = state[0].second.ToHost(), mv = state[1].second.ToHost();
  for (int64_t j = 0; j < 8; ++j) {
    double mean = 0.0, var = 0.0;
    for (int64_t i = 0; i < 50; ++i) mean += a[i * 8 + j] / 50.0;
    for (int64_t i = 0; i < 50; ++i) var += (a[i * 8 + j] - mean) * (a[i * 8 + j] - mean) / 50.0;
    EXPECT_NEAR(mm[j], 0.1 * mean, 1e-6) << j;
    EXPECT_NEAR(mv[j], 0.9 + 0.1 * var, 1e-6) << j;
  }
  // Predict normalizes by them, and leaves them alone.
  m.Predict(data.x);
  const std::vector<float> a2 = m.layer(0).tensors()["activation"]->ToHost();
  const std::vector<float> xhat = m.layer(1).tensors()["z"]->ToHost();
  for (size_t e = 0; e < xhat.size(); ++e) {
    const size_t j = e % 8;
    EXPECT_NEAR(xhat[e], (a2[e] - mm[j]) / std::sqrt(mv[j] + 1e-3), 1e-5) << e;
  }
  EXPECT_EQ(state[0].second.ToHost(), mm);
}

TEST(BatchNormalizationTest, HooksSeeTheNormalizedValues) {
  const Dataset data = Ball(4, 200, 0.5, 7);
  Sequential m = Model();
  m.ComputeGradients(data.x, data.y);
  const StepStats step = ComputeStepStats(m, StepContext{}, {}, 0);
  const TensorStats* z = step.layers[1]["z"];
  ASSERT_NE(z, nullptr);
  // Every feature has mean 0 and variance var / (var + eps) over the batch: pooled, std < 1
  // but near it, and mean 0.
  EXPECT_NEAR(z->mean, 0.0, 1e-5);
  EXPECT_GT(z->std, 0.9);
  EXPECT_LE(z->std, 1.0);
  EXPECT_EQ(step.layers[1]["kernel"], nullptr) << "no kernel: no grad ratio";
}

TEST(BatchNormalizationTest, CheckpointsRestoreTheMovingStatisticsAndResumeExactly) {
  const Dataset data = Ball(4, 96, 0.5, 8);
  testing::ExpectResumesExactly(
      [] { return Model(); }, data, Cpu(1),
      [&](Sequential& first, Sequential& resumed) {
        EXPECT_EQ(resumed.layer(1).Describe(), "BatchNormalization(momentum=0.9, epsilon=0.001)");
        for (size_t k = 0; k < 2; ++k) {
          EXPECT_EQ(resumed.layer(1).state()[k].second.ToHost(),
                    first.layer(1).state()[k].second.ToHost());
        }
        EXPECT_EQ(resumed.Predict(data.x).ToHost(), first.Predict(data.x).ToHost());
      });
}

// The BLOCK model (five tanh layers of 100, glorot_normal, SGD 0.01, batches of 16) on the
// ball, with and without batch normalization after each hidden layer: in 10 epochs the plain
// model's loss is still near log 2 (0.674 at seed 42), the normalized one's well below it
// (0.618), as the post on batch normalization would have it; a broken layer would not train
// better than the plain model.
TEST(BatchNormalizationTest, TheBlockModelTrainsFasterWithIt) {
  const Dataset data = Ball(10, 1000, 0.5, 0);
  double loss[2];
  for (int with_bn = 0; with_bn < 2; ++with_bn) {
    Sequential m(Cpu());
    for (int i = 0; i < 5; ++i) {
      m.Add(Dense(100, "tanh", "glorot_normal"));
      if (with_bn) m.Add(BatchNormalization());
    }
    m.Add(Dense(1));
    m.Compile(BinaryCrossEntropy(), Sgd{.learning_rate = 0.01f});
    m.Build(10, 42);
    loss[with_bn] = m.Fit(data.x, data.y, {.epochs = 10, .batch_size = 16}).epochs.back().loss;
  }
  EXPECT_LT(loss[1], loss[0] - 0.03) << "plain " << loss[0] << ", batch-normalized " << loss[1];
}

TEST(BatchNormalizationTest, ErrorsAndConfig) {
  EXPECT_CONTAINS(ErrorOf([] { BatchNormalization({.epsilon = 0.0f}); }),
                  "BatchNormalization: epsilon must be finite and > 0");
  EXPECT_CONTAINS(ErrorOf([] { MakeLayer(Config("batch_normalization").Set("axis", 1.0)); }),
                  "batch_normalization: unknown parameter \"axis\"");
  const BatchNormalization bn({.epsilon = 1e-5f, .momentum = 0.5f});
  EXPECT_EQ(MakeLayer(bn.config())->config(), bn.config());
  EXPECT_EQ(BatchNormalization().Describe(), "BatchNormalization(momentum=0.99, epsilon=0.001)");
}

}  // namespace
}  // namespace fanin
