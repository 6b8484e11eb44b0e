// Tests of the Keras initializers: fans, the resolved distributions, sample statistics of
// every named initializer on a large Dense-kernel-shaped tensor, names, and determinism
// across seeds, streams and thread counts.

#include "fanin/initializers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "expect_error.h"
#include "fanin/fanin.h"
#include "test_util.h"

namespace fanin {
namespace {

using testing::Cpu;
using testing::MeanTolerance;
using testing::StdTolerance;

// A Dense kernel [in x out] = [400 x 500]: fan_in 400, fan_out 500, fan_avg 450, and
// n = 200,000 samples, so the 5-standard-error tolerances are about 1% of sigma for the
// mean and 0.5-0.8% of sigma for the std.
Shape KernelShape() { return {400, 500}; }
constexpr double kFanIn = 400, kFanOut = 500, kFanAvg = 450;
constexpr uint64_t kSeed = 1234;
constexpr uint32_t kStream = 7;

// ---- ComputeFans ----------------------------------------------------------------------------

TEST(ComputeFansTest, KerasRules) {
  const Fans f1 = ComputeFans({7});  // a bias: (n, n)
  EXPECT_EQ(f1.fan_in, 7);
  EXPECT_EQ(f1.fan_out, 7);
  const Fans f2 = ComputeFans({3, 5});  // a Dense kernel [in x out]
  EXPECT_EQ(f2.fan_in, 3);
  EXPECT_EQ(f2.fan_out, 5);
  // A conv kernel [kh, kw, in, out]: receptive field kh * kw = 6 times in / out.
  const Fans f4 = ComputeFans({2, 3, 4, 8});
  EXPECT_EQ(f4.fan_in, 6 * 4);
  EXPECT_EQ(f4.fan_out, 6 * 8);
  const Fans f3 = ComputeFans({5, 4, 8});
  EXPECT_EQ(f3.fan_in, 5 * 4);
  EXPECT_EQ(f3.fan_out, 5 * 8);
}

TEST(ComputeFansTest, ReceptiveFieldThatOverflowsIsRefused) {
  // 2^32 * 2^32 wraps to 0, which gave fans of 0 (and then a std of sqrt(scale)).
  EXPECT_THROW(ComputeFans({int64_t{1} << 32, int64_t{1} << 32, 4, 4}), std::length_error);
  EXPECT_THROW(ComputeFans({int64_t{1} << 31, 4, int64_t{1} << 31, 4}), std::length_error);
}

TEST(ComputeFansTest, DenseKernelParameterHasInByOutShape) {
  Dense dense(7, "tanh", "glorot_normal");
  EXPECT_EQ(dense.Build(Cpu(), 5), 7);
  const std::vector<ParameterSpec> specs = dense.Parameters();
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].shape, (Shape{5, 7}));
  EXPECT_TRUE(specs[0].is_kernel);
  EXPECT_EQ(specs[1].shape, (Shape{7}));
  EXPECT_FALSE(specs[1].is_kernel);
  const Fans fans = ComputeFans(specs[0].shape);
  EXPECT_EQ(fans.fan_in, 5);
  EXPECT_EQ(fans.fan_out, 7);
}

// ---- Every named initializer: resolved distribution and sample statistics -------------------

enum class Family { kTruncated, kNormal, kUniform, kConstant };

struct Expected {
  std::string name;
  Family family;
  double p1;  // truncated/normal: mean; uniform: lo; constant: value
  double p2;  // truncated/normal: pre-truncation stddev; uniform: hi
};

double Corrected(double scale, double n) {
  return std::sqrt(scale / n) / kTruncatedNormalStdCorrection;
}

std::vector<Expected> NamedCases() {
  return {
      {"glorot_normal", Family::kTruncated, 0.0, Corrected(1.0, kFanAvg)},
      {"glorot_uniform", Family::kUniform, -std::sqrt(3.0 / kFanAvg), std::sqrt(3.0 / kFanAvg)},
      {"he_normal", Family::kTruncated, 0.0, Corrected(2.0, kFanIn)},
      {"he_uniform", Family::kUniform, -std::sqrt(6.0 / kFanIn), std::sqrt(6.0 / kFanIn)},
      {"lecun_normal", Family::kTruncated, 0.0, Corrected(1.0, kFanIn)},
      {"lecun_uniform", Family::kUniform, -std::sqrt(3.0 / kFanIn), std::sqrt(3.0 / kFanIn)},
      {"glorot_normal_uncorrected", Family::kTruncated, 0.0, std::sqrt(1.0 / kFanAvg)},
      {"he_normal_uncorrected", Family::kTruncated, 0.0, std::sqrt(2.0 / kFanIn)},
      {"random_normal", Family::kNormal, 0.0, 0.05},
      {"random_uniform", Family::kUniform, -0.05, 0.05},
      {"normal(0,0.01)", Family::kNormal, 0.0, 0.01},
      {"uniform(-1,2)", Family::kUniform, -1.0, 2.0},
      {"zeros", Family::kConstant, 0.0, 0.0},
      {"ones", Family::kConstant, 1.0, 0.0},
      {"constant(3)", Family::kConstant, 3.0, 0.0},
  };
}

// Checks n samples against the expected distribution with sample-size-derived tolerances
// (see MeanTolerance / StdTolerance in test_util.h).
void ExpectDistribution(const std::vector<float>& v, const Expected& e) {
  SCOPED_TRACE(e.name);
  const double n = static_cast<double>(v.size());
  const testing::SampleMoments m = testing::Moments(v);
  switch (e.family) {
    case Family::kConstant:
      EXPECT_EQ(m.min, e.p1);
      EXPECT_EQ(m.max, e.p1);
      break;
    case Family::kUniform: {
      const double lo = e.p1, hi = e.p2, width = hi - lo;
      const double sigma = width / std::sqrt(12.0);
      EXPECT_NEAR(m.mean, (lo + hi) / 2, MeanTolerance(sigma, n));
      EXPECT_NEAR(m.std, sigma, StdTolerance(sigma, testing::kUniformKurtosis, n));
      // Exact bounds (float rounding is monotonic, so nothing passes the float bound) ...
      EXPECT_GE(m.min, static_cast<float>(lo));
      EXPECT_LE(m.max, static_cast<float>(hi));
      // ... and they are the right bounds, not narrower: with density n / width, a gap of
      // width/1000 at either end has probability e^-200.
      EXPECT_LT(m.min, lo + width / 1000);
      EXPECT_GT(m.max, hi - width / 1000);
      break;
    }
    case Family::kNormal: {
      const double sigma = e.p2;
      EXPECT_NEAR(m.mean, e.p1, MeanTolerance(sigma, n));
      EXPECT_NEAR(m.std, sigma, StdTolerance(sigma, testing::kNormalKurtosis, n));
      // Untruncated: 4.55% of the values beyond 2 sigma (within 5 binomial std errors),
      // and values beyond 3 sigma exist (about 540 expected).
      int64_t beyond2 = 0;
      for (float x : v) beyond2 += std::fabs(x - e.p1) > 2 * sigma;
      const double p = 1.0 - std::erf(2.0 / std::sqrt(2.0));
      EXPECT_NEAR(beyond2 / n, p, 5.0 * std::sqrt(p * (1 - p) / n));
      EXPECT_GT(std::max(e.p1 - m.min, m.max - e.p1), 3 * sigma);
      break;
    }
    case Family::kTruncated: {
      const double pre = e.p2;
      const double sigma = pre * kTruncatedNormalStdCorrection;
      EXPECT_NEAR(m.mean, e.p1, MeanTolerance(sigma, n));
      EXPECT_NEAR(m.std, sigma, StdTolerance(sigma, testing::TruncatedNormalKurtosis(2.0), n));
      EXPECT_GE(m.min, static_cast<float>(e.p1 - 2 * pre));
      EXPECT_LE(m.max, static_cast<float>(e.p1 + 2 * pre));
      // The density at the bound is phi(2)/Z = 0.0566 per pre-truncation sigma: a gap of
      // 0.002 sigma at either end has probability e^-22.
      EXPECT_LT(m.min, e.p1 - 1.998 * pre);
      EXPECT_GT(m.max, e.p1 + 1.998 * pre);
      break;
    }
  }
}

std::vector<float> ApplyOn(const Initializer& init, const std::shared_ptr<Backend>& backend,
                           uint64_t seed, uint32_t stream, const Shape& shape = KernelShape()) {
  Tensor t(backend, shape);
  init.Apply(t, ComputeFans(shape), seed, stream);
  return t.ToHost();
}

TEST(InitializerTest, EveryNamedInitializerHasTheRightDistribution) {
  const auto backend = Cpu();
  for (const Expected& e : NamedCases()) {
    SCOPED_TRACE(e.name);
    const Initializer init = Initializer::FromName(e.name);
    ExpectDistribution(ApplyOn(init, backend, kSeed, kStream), e);
  }
}

// The truncated normal's std is sqrt(scale / n) itself (Keras >= 2.2.0), and the
// uncorrected variant's is 0.8796 times that: checked here as the plain statements.
TEST(InitializerTest, TruncatedNormalStdIsSqrtScaleOverFan) {
  const auto backend = Cpu();
  const double kurtosis = testing::TruncatedNormalKurtosis(2.0);
  const double n = 400.0 * 500.0;
  struct Case {
    const char* name;
    double target_std;
  };
  for (const Case& c :
       {Case{"he_normal", std::sqrt(2.0 / kFanIn)}, Case{"glorot_normal", std::sqrt(1.0 / kFanAvg)},
        Case{"he_normal_uncorrected", 0.87962566103423978 * std::sqrt(2.0 / kFanIn)},
        Case{"glorot_normal_uncorrected", 0.87962566103423978 * std::sqrt(1.0 / kFanAvg)}}) {
    const testing::SampleMoments m =
        testing::Moments(ApplyOn(Initializer::FromName(c.name), backend, 99, 0));
    EXPECT_NEAR(m.std, c.target_std, StdTolerance(c.target_std, kurtosis, n)) << c.name;
  }
}

// Every (mode, distribution) of VarianceScaling, with a scale that no named one uses.
TEST(InitializerTest, VarianceScalingEveryModeAndDistribution) {
  const auto backend = Cpu();
  const double scale = 1.5;
  for (FanMode mode : {FanMode::kFanIn, FanMode::kFanOut, FanMode::kFanAvg}) {
    const double fan = mode == FanMode::kFanIn    ? kFanIn
                       : mode == FanMode::kFanOut ? kFanOut
                                                  : kFanAvg;
    const double sd = std::sqrt(scale / fan);
    const double limit = std::sqrt(3.0 * scale / fan);
    const std::string tag = "mode " + std::to_string(static_cast<int>(mode));
    ExpectDistribution(
        ApplyOn(Initializer::VarianceScaling(scale, mode, VarianceDistribution::kTruncatedNormal),
                backend, kSeed, 1),
        {tag + " truncated", Family::kTruncated, 0.0, sd / kTruncatedNormalStdCorrection});
    ExpectDistribution(
        ApplyOn(Initializer::VarianceScaling(scale, mode, VarianceDistribution::kTruncatedNormal,
                                             /*truncation_correction=*/false),
                backend, kSeed, 1),
        {tag + " truncated uncorrected", Family::kTruncated, 0.0, sd});
    ExpectDistribution(
        ApplyOn(Initializer::VarianceScaling(scale, mode, VarianceDistribution::kUntruncatedNormal),
                backend, kSeed, 2),
        {tag + " untruncated", Family::kNormal, 0.0, sd});
    ExpectDistribution(
        ApplyOn(Initializer::VarianceScaling(scale, mode, VarianceDistribution::kUniform), backend,
                kSeed, 3),
        {tag + " uniform", Family::kUniform, -limit, limit});
  }
}

// Resolve reports the distribution that Apply draws from, and Apply fills element i with
// the i-th value of that (seed, stream) Philox stream: the layout a CUDA backend must match.
TEST(InitializerTest, ResolveAndApplyFollowTheStreamLayout) {
  const auto backend = Cpu();
  const Fans fans = ComputeFans(KernelShape());
  for (const Expected& e : NamedCases()) {
    SCOPED_TRACE(e.name);
    const Initializer init = Initializer::FromName(e.name);
    if (e.family == Family::kConstant) {
      EXPECT_TRUE(init.is_constant());
      EXPECT_EQ(init.constant_value(), e.p1);
      continue;
    }
    EXPECT_FALSE(init.is_constant());
    RandomSpec spec = init.Resolve(fans);
    const RandomDistribution want = e.family == Family::kTruncated
                                        ? RandomDistribution::kTruncatedNormal
                                    : e.family == Family::kNormal ? RandomDistribution::kNormal
                                                                  : RandomDistribution::kUniform;
    EXPECT_EQ(spec.distribution, want);
    EXPECT_NEAR(spec.a, e.p1, 1e-12 * std::fabs(e.p1) + 1e-15);
    EXPECT_NEAR(spec.b, e.p2, 1e-12 * std::fabs(e.p2));

    spec.seed = kSeed;
    spec.stream = kStream;
    const std::vector<float> v = ApplyOn(init, backend, kSeed, kStream);
    for (size_t i = 0; i < v.size(); ++i) {
      ASSERT_EQ(v[i], RandomValue(spec, i)) << "element " << i;
    }
  }
}

// ---- Names ------------------------------------------------------------------------------------

TEST(InitializerTest, NamesRoundTrip) {
  const Fans fans = ComputeFans(KernelShape());
  for (const Expected& e : NamedCases()) {
    SCOPED_TRACE(e.name);
    const Initializer init = Initializer::FromName(e.name);
    const Initializer again = Initializer::FromName(init.name());
    EXPECT_EQ(again.name(), init.name());
    EXPECT_EQ(again.is_constant(), init.is_constant());
    if (init.is_constant()) {
      EXPECT_EQ(again.constant_value(), init.constant_value());
    } else {
      const RandomSpec a = init.Resolve(fans), b = again.Resolve(fans);
      EXPECT_EQ(a.distribution, b.distribution);
      EXPECT_EQ(a.a, b.a);
      EXPECT_EQ(a.b, b.b);
    }
  }
  // The canonical names of the variance-scaling families are the names themselves.
  for (const char* name :
       {"glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "lecun_normal",
        "lecun_uniform", "glorot_normal_uncorrected", "he_normal_uncorrected"}) {
    EXPECT_EQ(Initializer::FromName(name).name(), name);
  }
  EXPECT_EQ(Initializer::HeNormal().name(), "he_normal");
  EXPECT_EQ(Initializer().name(), "glorot_uniform");  // Keras's default kernel initializer
  EXPECT_EQ(Initializer::FromName("normal(0,0.01)").name(), "normal(0,0.01)");
}

TEST(InitializerTest, NormalWithOneArgumentIsTheStddev) {
  const RandomSpec spec = Initializer::FromName("normal(0.05)").Resolve({10, 10});
  EXPECT_EQ(spec.distribution, RandomDistribution::kNormal);
  EXPECT_EQ(spec.a, 0.0);
  EXPECT_DOUBLE_EQ(spec.b, 0.05);
}

TEST(InitializerTest, UnknownNameThrowsAndListsTheValidNames) {
  try {
    Initializer::FromName("glorot_nromal");
    FAIL() << "no exception";
  } catch (const std::invalid_argument& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("glorot_nromal"), std::string::npos) << message;
    for (const char* valid :
         {"glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "lecun_normal",
          "lecun_uniform", "glorot_normal_uncorrected", "he_normal_uncorrected", "zeros", "ones",
          "random_normal", "random_uniform", "normal(", "uniform(", "constant("}) {
      EXPECT_NE(message.find(valid), std::string::npos)
          << "missing " << valid << " in: " << message;
    }
  }
}

TEST(InitializerTest, MalformedNamesThrow) {
  for (const char* bad : {"", "normal(0", "normal()", "uniform(1)", "uniform(a,b)", "constant()",
                          "constant(1,2)", "he_normal(2)", "HeNormal"}) {
    EXPECT_THROW(Initializer::FromName(bad), std::invalid_argument) << "'" << bad << "'";
  }
}

// A weight that starts at Inf (normal(0, 1e39) drew them) poisons training from step 0.
TEST(InitializerTest, RefusesArgumentsWhoseDrawsAreNotFiniteFloats) {
  const double inf = std::numeric_limits<double>::infinity();
  for (const char* bad : {"normal(0,1e39)", "normal(1e39)", "normal(3e38,1e37)", "normal(0,4e37)",
                          "uniform(-1e39,0)", "uniform(0,1e39)", "constant(1e39)"}) {
    SCOPED_TRACE(bad);
    testing::ExpectThrowsWith<std::invalid_argument>([&] { Initializer::FromName(bad); },
                                                     {"finite floats"});
  }
  testing::ExpectThrowsWith<std::invalid_argument>([] { Initializer::Normal(0, 1e39); },
                                                   {"normal(0,1e+39)", "finite floats"});
  for (double v : {std::nan(""), inf, -inf}) {
    EXPECT_THROW(Initializer::Normal(v, 1), std::invalid_argument) << v;
    EXPECT_THROW(Initializer::Normal(0, v), std::invalid_argument) << v;
    EXPECT_THROW(Initializer::Uniform(v, 1), std::invalid_argument) << v;
    EXPECT_THROW(Initializer::Uniform(0, v), std::invalid_argument) << v;
    EXPECT_THROW(Initializer::Constant(v), std::invalid_argument) << v;
    EXPECT_THROW(
        Initializer::VarianceScaling(v, FanMode::kFanIn, VarianceDistribution::kUntruncatedNormal),
        std::invalid_argument)
        << v;
  }
  // sqrt(1e300) = 1e150 is a finite double but no float.
  EXPECT_THROW(Initializer::VarianceScaling(1e300, FanMode::kFanIn, VarianceDistribution::kUniform),
               std::invalid_argument);
  // Wide but representable distributions are still allowed.
  EXPECT_NO_THROW(Initializer::Normal(0, 3e37));
  EXPECT_NO_THROW(Initializer::Uniform(-3e38, 3e38));
  EXPECT_NO_THROW(
      Initializer::VarianceScaling(1e70, FanMode::kFanIn, VarianceDistribution::kTruncatedNormal));
}

// ---- Determinism --------------------------------------------------------------------------------

TEST(InitializerTest, SameSeedSameBitsDifferentSeedOrStreamDifferent) {
  const auto backend = Cpu();
  const Shape shape = {64, 33};
  for (const char* name : {"he_normal", "glorot_uniform", "random_normal"}) {
    SCOPED_TRACE(name);
    const Initializer init = Initializer::FromName(name);
    const std::vector<float> a = ApplyOn(init, backend, 5, 2, shape);
    EXPECT_EQ(a, ApplyOn(init, backend, 5, 2, shape));  // bit-identical
    const std::vector<float> other_seed = ApplyOn(init, backend, 6, 2, shape);
    const std::vector<float> other_stream = ApplyOn(init, backend, 5, 3, shape);
    int same_seed = 0, same_stream = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      same_seed += a[i] == other_seed[i];
      same_stream += a[i] == other_stream[i];
    }
    // Independent draws of 2112 values coincide at most by a rare float collision.
    EXPECT_LE(same_seed, 1);
    EXPECT_LE(same_stream, 1);
  }
}

TEST(InitializerTest, SameWeightsWithOneAndTwoThreads) {
  const auto one = Cpu(1);
  const auto two = Cpu(2);
  for (const char* name :
       {"he_normal", "glorot_normal_uncorrected", "lecun_uniform", "normal(0,0.01)"}) {
    SCOPED_TRACE(name);
    const Initializer init = Initializer::FromName(name);
    EXPECT_EQ(ApplyOn(init, one, kSeed, kStream), ApplyOn(init, two, kSeed, kStream));
  }
}

Sequential SmallModel(const std::shared_ptr<Backend>& backend, uint64_t seed) {
  Sequential model(backend);
  model.Add(Dense(300, "tanh", "glorot_normal"));
  model.Add(Dense(50, "relu", "he_uniform", "uniform(-0.1,0.1)"));
  model.Add(Dense(1));
  model.Compile();
  model.Build(200, seed);
  return model;
}

// A model's weights are the same whatever the thread count, and parameter p is drawn from
// stream p (declaration order: kernel 0, bias 0, kernel 1, ...) with fans from its shape.
TEST(InitializerTest, ModelWeightsFollowStreamsAndIgnoreThreadCount) {
  Sequential a = SmallModel(Cpu(1), 77);
  Sequential b = SmallModel(Cpu(2), 77);
  const std::vector<float> pa = a.parameters().ToHost();
  EXPECT_EQ(pa, b.parameters().ToHost());
  const std::vector<float> pc = SmallModel(Cpu(2), 78).parameters().ToHost();
  ASSERT_EQ(pa.size(), pc.size());
  int same = 0;
  for (size_t i = 0; i < pa.size(); ++i) same += pa[i] != 0.0f && pa[i] == pc[i];
  EXPECT_LE(same, 2) << "different seeds should give different weights";

  struct Param {
    size_t layer;
    bool bias;
    Initializer init;
    uint32_t stream;
  };
  for (const Param& p : {Param{0, false, Initializer::GlorotNormal(), 0},
                         Param{1, false, Initializer::HeUniform(), 2},
                         Param{1, true, Initializer::Uniform(-0.1, 0.1), 3},
                         Param{2, false, Initializer::GlorotUniform(), 4}}) {
    SCOPED_TRACE("layer " + std::to_string(p.layer) + (p.bias ? " bias" : " kernel"));
    const LayerTensors lt = a.layer(p.layer).tensors();
    const Tensor* t = p.bias ? lt["bias"] : lt["kernel"];
    ASSERT_NE(t, nullptr);
    RandomSpec spec = p.init.Resolve(ComputeFans(t->shape()));
    spec.seed = 77;
    spec.stream = p.stream;
    const std::vector<float> v = t->ToHost();
    for (size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i], RandomValue(spec, i)) << i;
  }
  // Zero biases stay exactly zero.
  for (float x : a.layer(0).tensors()["bias"]->ToHost()) EXPECT_EQ(x, 0.0f);
}

}  // namespace
}  // namespace fanin
