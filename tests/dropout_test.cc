// The Dropout layer in a model: inference is the identity, training drops about `rate` of the
// units with masks fixed by (seed, step, layer), so runs repeat on any thread count, resume
// exactly from checkpoints, and have gradients that match finite differences at a fixed step.
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

Sequential Model(bool with_dropout, int threads = 2, float rate = 0.4f) {
  Sequential m(Cpu(threads));
  m.Add(Dense(32, "tanh"));
  if (with_dropout) m.Add(Dropout(rate));
  m.Add(Dense(1));
  m.Compile(BinaryCrossEntropy(), Adam{.learning_rate = 0.01f});
  m.Build(4, 21);
  return m;
}

TEST(DropoutTest, InferenceIsTheIdentityAndTrainingDropsTheRate) {
  const Dataset data = Ball(4, 400, 0.5, 3);
  Sequential with = Model(true), without = Model(false);
  // No parameters in Dropout: both draw the same initial weights.
  ASSERT_EQ(with.parameters().ToHost(), without.parameters().ToHost());
  EXPECT_EQ(with.Predict(data.x).ToHost(), without.Predict(data.x).ToHost());
  EXPECT_EQ(with.Evaluate(data.x, data.y).loss, without.Evaluate(data.x, data.y).loss);
  // A training pass: 400 x 32 units, 40% zeroed (5 standard deviations: 0.4 +- 0.022), the
  // kept ones scaled by 1 / 0.6.
  with.ComputeGradients(data.x, data.y);
  const std::vector<float> a = with.layer(0).tensors()["activation"]->ToHost();
  const std::vector<float> d = with.layer(1).tensors()["activation"]->ToHost();
  ASSERT_EQ(a.size(), d.size());
  int64_t zeros = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (d[i] == 0.0f) {
      ++zeros;
    } else {
      EXPECT_EQ(d[i], a[i] * (1.0f / 0.6f)) << i;
    }
  }
  EXPECT_NEAR(static_cast<double>(zeros) / static_cast<double>(a.size()), 0.4, 0.022);
}

TEST(DropoutTest, TrainingRepeatsOnAnyThreadCountAndDiffersFromNoDropout) {
  const Dataset data = Ball(4, 200, 0.5, 4);
  const FitOptions o{.epochs = 3, .batch_size = 16};
  Sequential one = Model(true, 1), two = Model(true, 2), plain = Model(false);
  one.Fit(data.x, data.y, o);
  two.Fit(data.x, data.y, o);
  plain.Fit(data.x, data.y, o);
  EXPECT_EQ(one.parameters().ToHost(), two.parameters().ToHost());
  EXPECT_NE(one.parameters().ToHost(), plain.parameters().ToHost());
}

// At a fixed step the mask is fixed, so the loss is a smooth function of the weights: its
// central differences match the gradients through the mask.
TEST(DropoutTest, GradientsMatchFiniteDifferencesThroughTheMask) {
  Sequential m = Model(true);
  EXPECT_GT(testing::ExpectGradientsMatchDifferences(m, Ball(4, 64, 0.5, 5), 1e-3f, 2e-3, 2e-4, 7),
            20);
}

TEST(DropoutTest, CheckpointsResumeWithTheSameMasks) {
  testing::ExpectResumesExactly([] { return Model(true); }, Ball(4, 96, 0.5, 6), Cpu(),
                                [](Sequential&, Sequential& resumed) {
                                  EXPECT_EQ(resumed.layer(1).Describe(), "Dropout(0.4)");
                                });
}

TEST(DropoutTest, ErrorsAndConfig) {
  EXPECT_CONTAINS(ErrorOf([] { Dropout(1.0f); }), "Dropout: rate must be in [0, 1), got 1");
  EXPECT_CONTAINS(ErrorOf([] { MakeLayer(Config("dropout").Set("rate", -0.1)); }),
                  "Dropout: rate must be in [0, 1)");
  EXPECT_CONTAINS(ErrorOf([] { MakeLayer(Config("dropout").Set("p", 0.1)); }),
                  "dropout: unknown parameter \"p\"");
  EXPECT_EQ(MakeLayer(Dropout(0.25f).config())->Describe(), "Dropout(0.25)");
  Sequential m(Cpu());
  m.Add(Dense(4));
  m.Add(Dropout(0.5f));
  m.Add(Dense(1));
  m.Compile(BinaryCrossEntropy(), Sgd{});
  m.Build(2);
  const Tensor x = Tensor::FromHost(Cpu(), {2, 2}, std::vector<float>{1, 2, 3, 4});
  const Tensor y = Tensor::FromHost(Cpu(), {2, 1}, std::vector<float>{0, 1});
  EXPECT_CONTAINS(ErrorOf([&] { m.RecordTrainStep(x, y); }),
                  "RecordTrainStep: layer 1 Dropout(0.5) draws new random numbers each step");
}

}  // namespace
}  // namespace fanin
