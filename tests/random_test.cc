// Tests of the counter-based generator in fanin/random.h: the Philox4x32-10 block function
// against Random123's published known answers, the deterministic logarithm against
// std::log, and the distributions of RandomValue against the documented stream layout and
// against their theoretical moments.

#include "fanin/random.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "test_util.h"

namespace fanin {
namespace {

using testing::MeanTolerance;
using testing::StdTolerance;

// ---- Philox4x32-10 ------------------------------------------------------------------------

struct PhiloxKat {
  uint32_t ctr[4];
  uint32_t key[2];
  uint32_t expected[4];
};

// Random123 tests/kat_vectors, the three "philox4x32 10" lines (columns: CTR[4] KEY[2]
// EXPECTED[4]): counter and key zero, all ones, and the hex digits of pi.
constexpr PhiloxKat kPhiloxKats[] = {
    {{0x00000000, 0x00000000, 0x00000000, 0x00000000},
     {0x00000000, 0x00000000},
     {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
    {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
     {0xffffffff, 0xffffffff},
     {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
    {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
     {0xa4093822, 0x299f31d0},
     {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
};

TEST(PhiloxTest, MatchesRandom123KnownAnswers) {
  for (const PhiloxKat& kat : kPhiloxKats) {
    const Philox4x32 r =
        Philox4x32_10(kat.ctr[0], kat.ctr[1], kat.ctr[2], kat.ctr[3], kat.key[0], kat.key[1]);
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(r.w[i], kat.expected[i])
          << "word " << i << " of the vector with ctr0 = 0x" << std::hex << kat.ctr[0];
    }
  }
}

// The header documents key = (seed lo, seed hi), counter = (index lo, index hi, stream,
// attempt). A CUDA kernel reproduces the CPU only if both follow this exactly.
TEST(PhiloxTest, BlockFollowsDocumentedCounterAndKeyLayout) {
  const uint64_t seed = 0x0123456789abcdefull;
  const uint64_t index = 0xfedcba9876543210ull;
  const Philox4x32 a = PhiloxBlock(seed, 77u, index, 3u);
  const Philox4x32 b = Philox4x32_10(0x76543210u, 0xfedcba98u, 77u, 3u, 0x89abcdefu, 0x01234567u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(a.w[i], b.w[i]);

  // RandomBits64 is (w1 << 32) | w0 of attempt 0.
  const Philox4x32 c = PhiloxBlock(seed, 5u, 12345u, 0u);
  EXPECT_EQ(RandomBits64(seed, 5u, 12345u), (static_cast<uint64_t>(c.w[1]) << 32) | c.w[0]);
}

// ---- DeterministicLog ---------------------------------------------------------------------

double RelativeLogError(double x) {
  const double expected = std::log(x);
  const double actual = DeterministicLog(x);
  if (expected == 0.0) return actual == 0.0 ? 0.0 : std::numeric_limits<double>::infinity();
  return std::fabs(actual - expected) / std::fabs(expected);
}

TEST(DeterministicLogTest, MatchesStdLogToBetterThan1e15Relative) {
  std::vector<double> xs;
  // Random normal doubles over the whole exponent range: random mantissa bits and a
  // random biased exponent in [1, 2046].
  std::mt19937_64 gen(12345);
  for (int i = 0; i < 200000; ++i) {
    const uint64_t mantissa = gen() & 0x000fffffffffffffull;
    const uint64_t exponent = 1 + gen() % 2046;
    const uint64_t bits = (exponent << 52) | mantissa;
    double x;
    std::memcpy(&x, &bits, sizeof x);
    xs.push_back(x);
  }
  // The range the polar method feeds it: r in (0, 1), including tiny r.
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int i = 0; i < 200000; ++i) xs.push_back(unit(gen) + 1e-300);
  // Around the mantissa split points (sqrt(1/2), 1, sqrt(2), 2) and powers of two, where an
  // off-by-one in the exponent or the reduction would show.
  for (double center :
       {0.7071067811865476, 1.0, 1.4142135623730951, 2.0, 0.5, 1024.0, 0x1p-1000, 0x1p+1000}) {
    double x = center;
    for (int k = 0; k < 50; ++k) x = std::nextafter(x, 0.0);
    for (int k = 0; k < 100; ++k) {
      xs.push_back(x);
      x = std::nextafter(x, 10.0 * center);
    }
  }
  for (double x : {1e-300, 1e-10, 0.1, 0.3, 3.0, 10.0, 1e10, 1e300,
                   std::numeric_limits<double>::min(), std::numeric_limits<double>::max()}) {
    xs.push_back(x);
  }

  double worst = 0.0;
  double worst_x = 0.0;
  for (double x : xs) {
    const double err = RelativeLogError(x);
    if (err > worst) {
      worst = err;
      worst_x = x;
    }
  }
  EXPECT_LT(worst, 1e-15) << "worst x = " << worst_x << " (log " << std::log(worst_x) << ", got "
                          << DeterministicLog(worst_x) << ")";
  EXPECT_EQ(DeterministicLog(1.0), 0.0);
}

// ---- RandomValue: agreement with the documented transforms ---------------------------------

TEST(RandomValueTest, UniformIsTheDocumentedTransformOfW0) {
  const RandomSpec spec{
      .distribution = RandomDistribution::kUniform, .a = -3.0, .b = 5.0, .seed = 99, .stream = 4};
  for (uint64_t i = 0; i < 10000; ++i) {
    const Philox4x32 r = PhiloxBlock(99, 4, i, 0);
    const double u = static_cast<double>(r.w[0] >> 8) / 16777216.0;
    ASSERT_EQ(RandomValue(spec, i), static_cast<float>(-3.0 + 8.0 * u)) << "index " << i;
  }
}

// An independent implementation of the documented polar method (with std::log and plain
// expressions), to check that RandomValue follows its own stream layout: pair (w0, w1),
// then (w2, w3), then the next attempt; truncated rejects |normal| > 2.
double ReferenceNormal(uint64_t seed, uint32_t stream, uint64_t index, bool truncated) {
  for (uint32_t attempt = 0; attempt < 1000; ++attempt) {
    const Philox4x32 r = PhiloxBlock(seed, stream, index, attempt);
    for (int pair = 0; pair < 2; ++pair) {
      const double x0 = 2.0 * (r.w[2 * pair] + 0.5) / 4294967296.0 - 1.0;
      const double x1 = 2.0 * (r.w[2 * pair + 1] + 0.5) / 4294967296.0 - 1.0;
      const double r2 = x0 * x0 + x1 * x1;
      if (!(r2 > 0.0 && r2 < 1.0)) continue;
      const double normal = x0 * std::sqrt(-2.0 * std::log(r2) / r2);
      if (truncated && std::fabs(normal) > 2.0) continue;
      return normal;
    }
  }
  ADD_FAILURE() << "no accepted draw in 1000 attempts";
  return 0.0;
}

TEST(RandomValueTest, NormalAndTruncatedFollowTheDocumentedPolarMethod) {
  for (bool truncated : {false, true}) {
    const RandomSpec spec{.distribution = truncated ? RandomDistribution::kTruncatedNormal
                                                    : RandomDistribution::kNormal,
                          .a = 0.25,
                          .b = 1.5,
                          .seed = 0xabcdef,
                          .stream = 9};
    int exact = 0;
    const int n = 20000;
    for (uint64_t i = 0; i < n; ++i) {
      const double expected = 0.25 + 1.5 * ReferenceNormal(0xabcdef, 9, i, truncated);
      const float actual = RandomValue(spec, i);
      // std::log vs DeterministicLog differ by a few double ulps, which can move the float
      // rounding by at most one float ulp; anything more means a different draw.
      ASSERT_NEAR(actual, expected, 2.0 * std::fabs(expected) * 0x1p-24 + 1e-30)
          << "index " << i << (truncated ? " (truncated)" : "");
      exact += actual == static_cast<float>(expected);
    }
    EXPECT_GT(exact, n * 99 / 100);
  }
}

// ---- RandomValue: statistics ----------------------------------------------------------------

std::vector<float> Draw(const RandomSpec& spec, int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = RandomValue(spec, i);
  return v;
}

TEST(RandomValueTest, UniformStatistics) {
  const double lo = -1.0, hi = 3.0;
  const int64_t n = 1000000;
  const std::vector<float> v = Draw(
      {.distribution = RandomDistribution::kUniform, .a = lo, .b = hi, .seed = 7, .stream = 1}, n);
  const testing::SampleMoments m = testing::Moments(v);
  const double sigma = (hi - lo) / std::sqrt(12.0);
  EXPECT_NEAR(m.mean, 1.0, MeanTolerance(sigma, n));
  EXPECT_NEAR(m.std, sigma, StdTolerance(sigma, testing::kUniformKurtosis, n));
  EXPECT_GE(m.min, lo);
  EXPECT_LT(m.max, hi);  // [lo, hi): u <= 1 - 2^-24, and 3 - 2^-22 is a float

  // Ten equal bins, each holding n/10 within 5 binomial standard deviations.
  std::vector<int64_t> bins(10, 0);
  for (float x : v) ++bins[static_cast<size_t>(std::floor((x - lo) / (hi - lo) * 10))];
  const double p = 0.1;
  for (int64_t count : bins) {
    EXPECT_NEAR(static_cast<double>(count), n * p, 5.0 * std::sqrt(n * p * (1 - p)));
  }
}

TEST(RandomValueTest, UniformUsesTwentyFourBits) {
  // On [0, 1) every value is k * 2^-24: the transform keeps the top 24 bits of w0, so the
  // value is exact in float and never rounds up to 1.
  const std::vector<float> v = Draw(
      {.distribution = RandomDistribution::kUniform, .a = 0.0, .b = 1.0, .seed = 3, .stream = 0},
      100000);
  for (float x : v) {
    const double k = static_cast<double>(x) * 16777216.0;
    ASSERT_EQ(k, std::floor(k));
    ASSERT_LT(x, 1.0f);
  }
}

TEST(RandomValueTest, NormalStatistics) {
  const double mean = -2.0, sigma = 0.5;
  const int64_t n = 1000000;
  const std::vector<float> v = Draw(
      {.distribution = RandomDistribution::kNormal, .a = mean, .b = sigma, .seed = 11, .stream = 2},
      n);
  const testing::SampleMoments m = testing::Moments(v);
  EXPECT_NEAR(m.mean, mean, MeanTolerance(sigma, n));
  EXPECT_NEAR(m.std, sigma, StdTolerance(sigma, testing::kNormalKurtosis, n));

  // Shape: the fractions within 1, 2 and 3 sigma, each within 5 binomial std errors.
  for (double k : {1.0, 2.0, 3.0}) {
    int64_t inside = 0;
    for (float x : v) inside += std::fabs(x - mean) <= k * sigma;
    const double p = std::erf(k / std::sqrt(2.0));
    EXPECT_NEAR(static_cast<double>(inside) / n, p, 5.0 * std::sqrt(p * (1 - p) / n))
        << "within " << k << " sigma";
  }
}

TEST(RandomValueTest, TruncatedNormalStatistics) {
  // The header's correction constant is the std of N(0, 1) truncated to [-2, 2].
  EXPECT_NEAR(std::sqrt(testing::TruncatedNormalVariance(2.0)), kTruncatedNormalStdCorrection,
              1e-15);

  const double mean = 0.5, sigma = 0.1;  // sigma before truncation
  const int64_t n = 1000000;
  const std::vector<float> v = Draw({.distribution = RandomDistribution::kTruncatedNormal,
                                     .a = mean,
                                     .b = sigma,
                                     .seed = 5,
                                     .stream = 6},
                                    n);
  const testing::SampleMoments m = testing::Moments(v);
  const double true_std = sigma * kTruncatedNormalStdCorrection;
  const double kurtosis = testing::TruncatedNormalKurtosis(2.0);  // about 2.37
  EXPECT_NEAR(m.mean, mean, MeanTolerance(true_std, n));
  EXPECT_NEAR(m.std, true_std, StdTolerance(true_std, kurtosis, n));
  // Nothing beyond two pre-truncation stddevs. Rounding to float is monotonic, so a value
  // accepted at |normal| <= 2 can never round past the float image of the bound.
  EXPECT_GE(m.min, static_cast<float>(mean - 2 * sigma));
  EXPECT_LE(m.max, static_cast<float>(mean + 2 * sigma));
  // ... and the bound is reached: the density there is phi(2)/Z per sigma, so a million
  // samples leave no gap of 0.001 sigma at either end (miss probability ~ e^-50).
  EXPECT_LT(m.min, mean - 1.999 * sigma);
  EXPECT_GT(m.max, mean + 1.999 * sigma);
}

// ---- Determinism and independence -----------------------------------------------------------

TEST(RandomValueTest, SameInputsSameValueDifferentSeedOrStreamDiffer) {
  for (RandomDistribution dist : {RandomDistribution::kUniform, RandomDistribution::kNormal,
                                  RandomDistribution::kTruncatedNormal}) {
    const RandomSpec base{.distribution = dist, .a = 0.0, .b = 1.0, .seed = 42, .stream = 3};
    RandomSpec other_seed = base;
    other_seed.seed = 43;
    RandomSpec high_seed = base;  // only the key's high word differs
    high_seed.seed = 42 + (uint64_t{1} << 32);
    RandomSpec other_stream = base;
    other_stream.stream = 4;

    const int n = 2000;
    int same_seed = 0, same_high = 0, same_stream = 0, same_high_index = 0;
    for (uint64_t i = 0; i < n; ++i) {
      const float v = RandomValue(base, i);
      ASSERT_EQ(v, RandomValue(base, i));
      same_seed += v == RandomValue(other_seed, i);
      same_high += v == RandomValue(high_seed, i);
      same_stream += v == RandomValue(other_stream, i);
      same_high_index += v == RandomValue(base, i + (uint64_t{1} << 32));
    }
    // Independent uniform draws on a 2^-24 grid collide with probability ~1e-4 over 2000
    // pairs; normals practically never. At most one collision is allowed.
    EXPECT_LE(same_seed, 1);
    EXPECT_LE(same_high, 1);
    EXPECT_LE(same_stream, 1);
    EXPECT_LE(same_high_index, 1);
  }
}

}  // namespace
}  // namespace fanin
