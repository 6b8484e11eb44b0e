// Normalization (feature standardization saved with the model): Adapt's mean and variance
// against a double-precision reference, the forward pass within its float error bound, the
// gradient through it against finite differences, its errors, what the hooks see, and
// checkpoints that keep the fitted statistics and resume exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
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
using testing::ExpectThrowsWith;

// Columns of different scales and offsets, and a constant one (std 0).
Tensor Features(int64_t rows, uint64_t seed) {
  std::vector<float> v = testing::RandomFloats(static_cast<size_t>(rows * 3), -1.0f, 1.0f, seed);
  for (int64_t i = 0; i < rows; ++i) {
    v[static_cast<size_t>(i * 3)] = 100.0f + 20.0f * v[static_cast<size_t>(i * 3)];
    v[static_cast<size_t>(i * 3 + 1)] *= 1e-3f;
    v[static_cast<size_t>(i * 3 + 2)] = 7.0f;
  }
  return Tensor::FromHost(HostBackend(), {rows, 3}, v);
}

TEST(NormalizationTest, StandardizesEachFeatureAsAdaptFittedIt) {
  const Tensor x = Features(200, 3);
  Normalization norm;
  norm.Adapt(x);
  EXPECT_TRUE(norm.adapted());
  norm.Build(Cpu(), 3);
  const std::vector<float> y = norm.Forward(x).ToHost();
  const std::vector<float> xs = x.ToHost();
  // The reference in double: population mean and variance, then the Keras formula.
  const double u = std::ldexp(1.0, -24);
  for (size_t j = 0; j < 3; ++j) {
    double mean = 0.0, m2 = 0.0;
    for (size_t i = 0; i < 200; ++i) mean += xs[i * 3 + j];
    mean /= 200.0;
    for (size_t i = 0; i < 200; ++i) m2 += (xs[i * 3 + j] - mean) * (xs[i * 3 + j] - mean);
    const double std = std::max(std::sqrt(m2 / 200.0), Normalization::kMinStd);
    EXPECT_NEAR(norm.state()[0].second.ToHost()[j], mean, u * std::fabs(mean));
    for (size_t i = 0; i < 200; ++i) {
      const double expected = (xs[i * 3 + j] - mean) / std;
      // Mean, 1/std, the difference and the product each rounded to float once: 4u of
      // (|x - m| + |m|) / std, twice that for slack.
      const double bound = 8 * u * (std::fabs(xs[i * 3 + j] - mean) + std::fabs(mean)) / std;
      ASSERT_NEAR(y[i * 3 + j], expected, bound) << "row " << i << " feature " << j;
    }
  }
  // The constant feature: exactly zero, not NaN.
  for (size_t i = 0; i < 200; ++i) EXPECT_EQ(y[i * 3 + 2], 0.0f);
}

// Between two Dense layers, so that the gradient reaches the first one through it.
Sequential Model(int threads = 2) {
  Sequential m(Cpu(threads));
  m.Add(Dense(3, "tanh"));
  // Fitted to values in the range of the tanh layer's, of different means and spreads.
  std::vector<float> hidden = testing::RandomFloats(150, -0.5f, 0.5f, 4);
  for (size_t i = 0; i < hidden.size(); ++i)
    hidden[i] = hidden[i] * (1.0f + i % 3) + 0.1f * (i % 3);
  auto norm = std::make_unique<Normalization>();
  norm->Adapt(Tensor::FromHost(HostBackend(), {50, 3}, hidden));
  m.Add(std::move(norm));
  m.Add(Dense(1));
  m.Compile(BinaryCrossEntropy(), Adam{.learning_rate = 0.01f});
  m.Build(4, 11);
  return m;
}

TEST(NormalizationTest, GradientsMatchFiniteDifferences) {
  Sequential m = Model();
  EXPECT_GT(testing::ExpectGradientsMatchDifferences(m, Ball(4, 64, 0.5, 5), 1e-3f, 3e-3, 3e-4, 6),
            10);
}

TEST(NormalizationTest, CheckpointsKeepTheFittedStatisticsAndResumeExactly) {
  const Dataset data = Ball(4, 96, 0.5, 8);
  testing::ExpectResumesExactly([] { return Model(); }, data, Cpu(1),
                                [&](Sequential& first, Sequential& resumed) {
                                  for (size_t k = 0; k < 2; ++k) {
                                    EXPECT_EQ(resumed.layer(1).state()[k].second.ToHost(),
                                              first.layer(1).state()[k].second.ToHost());
                                  }
                                  EXPECT_EQ(resumed.Predict(data.x).ToHost(),
                                            first.Predict(data.x).ToHost());
                                });
}

TEST(NormalizationTest, HooksSeeItsOutputAndTheRegistryMakesIt) {
  Sequential m = Model();
  const Dataset data = Ball(4, 20, 0.5, 2);
  m.ComputeGradients(data.x, data.y);
  const StepStats step = ComputeStepStats(m, StepContext{}, {}, 0);
  ASSERT_EQ(step.layers[1].tensors.size(), 1u);
  EXPECT_EQ(step.layers[1].tensors[0].name, "activation");
  EXPECT_TRUE(std::isnan(step.layers[1].grad_ratio));

  EXPECT_EQ(m.layer(1).config(), Config("normalization"));
  EXPECT_EQ(MakeLayer(Config("normalization"))->Describe(), "Normalization()");
  ExpectThrowsWith<std::invalid_argument>(
      [] { MakeLayer(Config("normalization").Set("axis", -1.0)); }, {"normalization", "axis"});
}

TEST(NormalizationTest, ErrorsNameTheProblem) {
  Normalization unfitted;
  unfitted.Build(Cpu(), 3);
  ExpectThrowsWith<std::logic_error>([&] { unfitted.Forward(Features(4, 1)); },
                                     {"Normalization(3)", "not adapted", "Adapt(x)"});

  std::vector<float> bad = Features(4, 1).ToHost();
  bad[7] = std::nanf("");
  ExpectThrowsWith<std::invalid_argument>(
      [&] {
        Normalization().Adapt(Tensor::FromHost(HostBackend(), {4, 3}, bad));
      },
      {"Adapt", "x[2, 1]", "not finite"});
  ExpectThrowsWith<std::invalid_argument>(
      [] {
        Normalization().Adapt(Tensor(HostBackend(), {0, 3}));
      },
      {"Adapt", "[0 x 3]"});
  ExpectThrowsWith<std::invalid_argument>(
      [] {
        Normalization norm;
        norm.Adapt(Features(4, 1));
        norm.Build(Cpu(), 5);
      },
      {"adapted to 3 features", "input of 5"});
  ExpectThrowsWith<std::invalid_argument>(
      [] {
        Normalization norm;
        norm.Build(Cpu(), 2);
        norm.Adapt(Features(4, 1));
      },
      {"built for 2 features"});
}

}  // namespace
}  // namespace fanin
