// ComputeTensorStats (the CPU backend's statistics) against a plain double-precision
// reference: counts, min, max and histograms must match exactly, mean and std within the
// bound derived in ops/stats/reference.h (the reference, shared with the op cases of
// ops/stats/test.cc) from the two summation orders.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "fanin/fanin.h"
#include "ops/stats/cpu.h"
#include "ops/stats/reference.h"

namespace fanin {
namespace {

using ops::internal::ComputeTensorStats;

constexpr float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

void ExpectMatchesReference(const std::vector<float>& x, const HistogramSpec& spec,
                            const std::string& what) {
  testing::ExpectStatsEquivalent(ComputeTensorStats(x.data(), static_cast<int64_t>(x.size()), spec),
                                 x, spec, what);
}

std::vector<float> Normal(int64_t n, float mean, float std, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(mean, std);
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) v = normal(rng);
  return x;
}

// Sizes around the vector widths and loop splits (4 parts, blocks of 1024), and large.
constexpr int64_t kSizes[] = {0, 1, 15, 16, 17, 1000, 100003};

TEST(TensorStatsTest, RandomNormalOfAwkwardSizes) {
  for (int64_t n : kSizes) {
    const std::vector<float> x = Normal(n, 0.3f, 1.7f, 1);
    for (int bins : {0, 1, 64}) {
      ExpectMatchesReference(x, {.bins = bins}, "auto range");
    }
    ExpectMatchesReference(x, {.bins = 7, .auto_range = false, .lo = -1.0f, .hi = 2.5f},
                           "fixed range");
  }
}

TEST(TensorStatsTest, NanAndInfAreCountedAndLeftOut) {
  for (int64_t n : kSizes) {
    if (n == 0) continue;
    std::vector<float> x = Normal(n, -0.2f, 1.0f, 2);
    std::mt19937 rng(3);
    std::uniform_int_distribution<int64_t> index(0, n - 1);
    const float specials[] = {kNaN, kInf, -kInf};
    for (int k = 0; k < 1 + n / 50; ++k) x[static_cast<size_t>(index(rng))] = specials[k % 3];
    x.back() = kNaN;  // in the scalar tail of every loop
    for (const HistogramSpec& spec :
         {HistogramSpec{.bins = 0}, HistogramSpec{.bins = 64},
          HistogramSpec{.bins = 10, .auto_range = false, .lo = -1.0f, .hi = 1.0f}}) {
      ExpectMatchesReference(x, spec, "sprinkled");
    }
  }
  ExpectMatchesReference(std::vector<float>(100, kNaN), {.bins = 8}, "all NaN");
  ExpectMatchesReference({kInf, -kInf, kNaN, kInf}, {.bins = 8}, "no finite value");
  ExpectMatchesReference({kInf, 1.0f, -kInf, 2.0f, kNaN}, {.bins = 3}, "two finite values");

  const std::vector<float> x = {kNaN, 1.0f, kInf, -kInf, 3.0f, kNaN};
  const TensorStats s = ComputeTensorStats(x.data(), 6, {.bins = 2});
  EXPECT_EQ(s.count, 6);
  EXPECT_EQ(s.nan_count, 2);
  EXPECT_EQ(s.inf_count, 2);
  EXPECT_EQ(s.mean, 2.0);
  EXPECT_EQ(s.std, 1.0);
  EXPECT_EQ(s.histogram, (std::vector<int64_t>{1, 1}));
}

TEST(TensorStatsTest, ConstantTensorsGoToTheMiddleBin) {
  // 1e7 and 3e7: the widened range [c - 0.5, c + 0.5] has no float bound (a float's
  // spacing there is 1 and 2).
  for (float c : {0.0f, 3.25f, -1e-3f, 1e7f, 3e7f}) {
    for (int64_t n : {1, 17, 1001}) {
      const std::vector<float> x(static_cast<size_t>(n), c);
      for (int bins : {1, 4, 5, 64}) {
        ExpectMatchesReference(x, {.bins = bins}, std::to_string(c) + " constant");
        const TensorStats s = ComputeTensorStats(x.data(), n, {.bins = bins});
        EXPECT_EQ(s.histogram[static_cast<size_t>(bins / 2)], n) << c << " " << bins;
        EXPECT_EQ(s.std, 0.0);
      }
    }
  }
}

TEST(TensorStatsTest, ConstantTensorTooLargeToWidenGoesToBinZero) {
  // c +- 0.5 == c in double: the range stays empty and (v - lo) * scale is 0 * inf.
  const std::vector<float> x(33, 1e20f);
  ExpectMatchesReference(x, {.bins = 5}, "huge constant");
  EXPECT_EQ(ComputeTensorStats(x.data(), 33, {.bins = 5}).histogram,
            (std::vector<int64_t>{33, 0, 0, 0, 0}));
}

TEST(TensorStatsTest, ValuesOnBinEdgesAndOnHi) {
  // Integers on [0, 64] with 64 bins: every value is an edge, 64 = hi joins bin 63.
  std::vector<float> x;
  for (int k = 0; k <= 64; ++k) x.push_back(static_cast<float>(k));
  ExpectMatchesReference(x, {.bins = 64, .auto_range = false, .lo = 0.0f, .hi = 64.0f}, "integers");
  ExpectMatchesReference(x, {.bins = 64}, "integers, auto range");
  const std::vector<float> small = {0.0f, 1.0f, 2.0f, 3.0f, 4.0f};
  EXPECT_EQ(ComputeTensorStats(small.data(), 5, {.bins = 4}).histogram,
            (std::vector<int64_t>{1, 1, 1, 2}));

  // k / 32 on [-1, 1]: binary fractions, exact edges.
  x.clear();
  for (int k = -32; k <= 32; ++k) x.push_back(k / 32.0f);
  ExpectMatchesReference(x, {.bins = 16, .auto_range = false, .lo = -1.0f, .hi = 1.0f}, "k/32");

  // Edges that are not floats, with the floats on either side of each.
  const float lo = 0.1f, hi = 0.7f;
  const int bins = 6;
  x.clear();
  for (int k = 0; k <= bins; ++k) {
    const float edge = static_cast<float>(lo + k * (static_cast<double>(hi) - lo) / bins);
    for (float v : {std::nextafter(edge, -kInf), edge, std::nextafter(edge, kInf)}) {
      x.push_back(v);
    }
  }
  ExpectMatchesReference(x, {.bins = bins, .auto_range = false, .lo = lo, .hi = hi},
                         "around edges");
  ExpectMatchesReference(x, {.bins = bins}, "around edges, auto range");
}

TEST(TensorStatsTest, LargeMeanWithSmallSpread) {
  // mean^2 / variance = 1e12: a one-pass E[x^2] - E[x]^2 would lose 12 of double's 16
  // digits, float lanes all of them.
  for (int64_t n : {17, 1000, 100003}) {
    const std::vector<float> x = Normal(n, 1e4f, 1e-2f, 4);
    ExpectMatchesReference(x, {.bins = 64}, "1e4 + N(0, 1e-2)");
  }
}

TEST(TensorStatsTest, FixedRangesThatExcludeValues) {
  std::vector<float> x = Normal(100003, 0.0f, 1.0f, 5);
  x[7] = kNaN;
  x[8] = kInf;
  x[9] = -kInf;
  // Around the middle, in a tail, beyond either end, inverted, empty (then widened).
  const struct {
    float lo, hi;
  } ranges[] = {{-0.5f, 0.5f},    {3.0f, 4.0f},  {10.0f, 20.0f},
                {-20.0f, -10.0f}, {1.0f, -1.0f}, {0.25f, 0.25f}};
  for (const auto& r : ranges) {
    for (int bins : {1, 10, 64}) {
      ExpectMatchesReference(x, {.bins = bins, .auto_range = false, .lo = r.lo, .hi = r.hi},
                             std::to_string(r.lo) + " to " + std::to_string(r.hi));
    }
  }
}

TEST(TensorStatsTest, InfiniteRangesCountInBinZero) {
  const std::vector<float> x = {-kInf, -3.0f, 0.0f, 2.0f, kInf, kNaN};
  ExpectMatchesReference(x, {.bins = 4, .auto_range = false, .lo = -kInf, .hi = kInf},
                         "(-inf, inf)");
  ExpectMatchesReference(x, {.bins = 4, .auto_range = false, .lo = 0.0f, .hi = kInf}, "[0, inf)");
  EXPECT_EQ(
      ComputeTensorStats(x.data(), 6, {.bins = 4, .auto_range = false, .lo = -kInf, .hi = kInf})
          .histogram,
      (std::vector<int64_t>{5, 0, 0, 0}));
}

TEST(TensorStatsTest, ExtremeMagnitudes) {
  // Any finite float, denormals included: ranges up to 6.8e38, no overflow anywhere.
  std::mt19937 rng(6);
  std::uniform_int_distribution<uint32_t> bits;
  std::vector<float> x;
  while (x.size() < 5000) {
    const uint32_t b = bits(rng);
    float v;
    std::memcpy(&v, &b, sizeof v);
    if (std::isfinite(v)) x.push_back(v);
  }
  ExpectMatchesReference(x, {.bins = 64}, "any finite bits");
  ExpectMatchesReference(x, {.bins = 64, .auto_range = false, .lo = -1e-38f, .hi = 1e-38f},
                         "denormal range");
  ExpectMatchesReference({1e-45f, 2e-45f, 3e-45f}, {.bins = 2}, "denormals");
}

TEST(TensorStatsTest, ManyBins) {
  const std::vector<float> x = Normal(1000, 0.0f, 1.0f, 7);
  ExpectMatchesReference(x, {.bins = 1000}, "1000 bins");
  ExpectMatchesReference(x, {.bins = 100003}, "more bins than values");
}

TEST(TensorStatsTest, RandomCases) {
  // Mixed generators, sizes, ranges and bin counts, including values on a coarse grid
  // (many ties and values on edges).
  std::mt19937 rng(8);
  std::uniform_int_distribution<int> percent(0, 99);
  for (int c = 0; c < 300; ++c) {
    const int64_t n = std::uniform_int_distribution<int64_t>(0, 3000)(rng);
    const float center = percent(rng) < 30 ? 0.0f : std::ldexp(1.0f, percent(rng) % 40 - 20);
    const float spread = std::ldexp(1.0f, percent(rng) % 40 - 30);
    const bool grid = percent(rng) < 50;
    std::vector<float> x = Normal(n, 0.0f, 1.0f, 100 + c);
    for (float& v : x) {
      v = center + spread * (grid ? std::round(4 * v) / 4 : v);
      if (percent(rng) == 0) v = percent(rng) < 50 ? kNaN : -kInf;
    }
    HistogramSpec spec{.bins = std::uniform_int_distribution<int>(0, 70)(rng)};
    if (percent(rng) < 40) {
      spec.auto_range = false;
      spec.lo = center - spread;
      spec.hi = center + spread * (percent(rng) < 90 ? 1.5f : -1.0f);
    }
    ExpectMatchesReference(x, spec, std::to_string(c) + "th case");
  }
}

TEST(TensorStatsTest, SameBitsAtAnyAlignmentAndOnEveryCall) {
  // Tensor views start at any float offset: the summation order must not depend on it.
  const std::vector<float> data = Normal(10007, 0.5f, 2.0f, 9);
  std::vector<float> buffer(data.size() + 4);
  TensorStats first;
  for (size_t offset = 0; offset < 4; ++offset) {
    std::copy(data.begin(), data.end(), buffer.begin() + static_cast<ptrdiff_t>(offset));
    for (int call = 0; call < 2; ++call) {
      const TensorStats s = ComputeTensorStats(buffer.data() + offset,
                                               static_cast<int64_t>(data.size()), {.bins = 64});
      if (offset == 0 && call == 0) first = s;
      EXPECT_EQ(std::memcmp(&s.mean, &first.mean, sizeof s.mean), 0) << offset;
      EXPECT_EQ(std::memcmp(&s.std, &first.std, sizeof s.std), 0) << offset;
      EXPECT_EQ(s.histogram, first.histogram);
    }
  }
}

}  // namespace
}  // namespace fanin
