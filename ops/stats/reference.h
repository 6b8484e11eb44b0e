// The statistics' independent double-precision reference (TensorStats of fanin/ops.h), and the
// comparison of a backend's statistics with it: the cases of ops/stats/test.cc and the CPU
// kernel's own tests (tests/tensor_stats_test.cc) use both.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "fanin/ops.h"

namespace fanin::testing {

// The straightforward computation: one value at a time, in double, two passes for the
// variance. Binning: v in [lo, hi] goes to bin min(trunc((v - lo) * scale), bins - 1) with
// scale = bins / (hi - lo). Where (v - lo) * scale is NaN (an infinite range, or a constant
// tensor too large for +-0.5 to widen its range) the value goes to bin 0, as on CUDA.
inline TensorStats RefStats(const std::vector<float>& x, const HistogramSpec& spec) {
  TensorStats s;
  s.count = static_cast<int64_t>(x.size());
  double sum = 0.0, lo = std::numeric_limits<double>::infinity(),
         hi = -std::numeric_limits<double>::infinity();
  int64_t finite = 0;
  for (float v : x) {
    if (std::isnan(v)) {
      ++s.nan_count;
    } else if (std::isinf(v)) {
      ++s.inf_count;
    } else {
      ++finite;
      sum += v;
      lo = std::min(lo, static_cast<double>(v));
      hi = std::max(hi, static_cast<double>(v));
    }
  }
  if (finite > 0) {
    s.mean = sum / static_cast<double>(finite);
    double squares = 0.0;
    for (float v : x) {
      if (std::isfinite(v)) squares += (v - s.mean) * (v - s.mean);
    }
    s.std = std::sqrt(squares / static_cast<double>(finite));
    s.min = lo;
    s.max = hi;
  }
  if (spec.bins > 0) {
    double h_lo = spec.auto_range ? s.min : spec.lo, h_hi = spec.auto_range ? s.max : spec.hi;
    if (h_hi <= h_lo) {
      h_lo -= 0.5;
      h_hi += 0.5;
    }
    s.hist_lo = static_cast<float>(h_lo);
    s.hist_hi = static_cast<float>(h_hi);
    s.histogram.assign(static_cast<size_t>(spec.bins), 0);
    const double scale = spec.bins / (h_hi - h_lo);
    for (float f : x) {
      const double v = f;
      if (!(v >= h_lo && v <= h_hi)) continue;
      const double t = (v - h_lo) * scale;
      const int64_t bin =
          std::isnan(t) ? 0 : std::min(static_cast<int64_t>(t), int64_t{spec.bins} - 1);
      ++s.histogram[static_cast<size_t>(bin)];
    }
  }
  return s;
}

// gamma(k) = k u / (1 - k u), u = 2^-53: summing k + 1 doubles in any order errs by at most
// gamma(k) times the sum of their magnitudes (Higham, Accuracy and Stability of Numerical
// Algorithms, 4.2). Both implementations sum in double, in different orders, so:
//  - each mean is within gamma(n + 1) mean(|x|) of the exact mean (one more rounding for
//    the division), and the two within twice that;
//  - a std is the RMS distance of the values to the mean, which moves by at most |dm| when
//    the mean moves by dm (triangle inequality); rounding the n positive squares and their
//    sum costs at most gamma(n + 2) relative, the division and the sqrt add u each, so each
//    std is within |dm| + gamma(n + 4) std of the exact one.
inline double Gamma(double k) {
  const double u = std::ldexp(1.0, -53);
  return k * u / (1 - k * u);
}

// s, the statistics of x under spec, against the reference.
inline void ExpectStatsEquivalent(const TensorStats& s, const std::vector<float>& x,
                                  const HistogramSpec& spec, const std::string& what) {
  SCOPED_TRACE(what + ", n=" + std::to_string(x.size()) + ", bins=" + std::to_string(spec.bins) +
               (spec.auto_range ? " auto" : " fixed"));
  const TensorStats ref = RefStats(x, spec);
  EXPECT_EQ(s.count, ref.count);
  EXPECT_EQ(s.nan_count, ref.nan_count);
  EXPECT_EQ(s.inf_count, ref.inf_count);
  EXPECT_EQ(s.min, ref.min);
  EXPECT_EQ(s.max, ref.max);
  EXPECT_EQ(s.hist_lo, ref.hist_lo);
  EXPECT_EQ(s.hist_hi, ref.hist_hi);
  EXPECT_EQ(s.histogram, ref.histogram);

  double abs_sum = 0.0;
  for (float v : x) {
    if (std::isfinite(v)) abs_sum += std::fabs(v);
  }
  const int64_t finite = ref.count - ref.nan_count - ref.inf_count;
  const double n = static_cast<double>(x.size());
  const double mean_tolerance = finite > 0 ? 2 * Gamma(n + 1) * abs_sum / finite : 0.0;
  const double std_tolerance = mean_tolerance + 2 * Gamma(n + 4) * ref.std;
  EXPECT_NEAR(s.mean, ref.mean, mean_tolerance);
  EXPECT_NEAR(s.std, ref.std, std_tolerance);
}

// The fused statistics (ops::Summarize and the ops that take a StatsOut) of x against the
// reference: counts, zeros, saturated values, min, max and log2 bins exact; mean and std within
// the bounds of a one-pass shifted sum. With d = v - shift over the n finite values, S1 =
// sum(d) and S2 = sum(d^2) each err by gamma(n + 2) times the sum of their terms' magnitudes
// (one rounding for the subtraction, one for the square, the sum's), so
//   mean = shift + S1 / n   errs by gamma(n + 3) mean(|d|) + u |mean|,
//   var = S2 / n - (S1 / n)^2 errs by gamma(n + 3) (var + (mean - shift)^2)
//                             + 2 |mean - shift| gamma(n + 3) mean(|d|) + gamma(3) var,
// and the std by that over 2 std (sqrt's derivative), or its square root when std is 0; the
// reference's own error (above) is added to both.
inline void ExpectSummaryEquivalent(const TensorStats& s, const std::vector<float>& x,
                                    SaturationBand band, bool log2_histogram,
                                    const std::string& what) {
  SCOPED_TRACE(what + ", n=" + std::to_string(x.size()));
  const TensorStats ref = RefStats(x, {});
  EXPECT_EQ(s.count, ref.count);
  EXPECT_EQ(s.nan_count, ref.nan_count);
  EXPECT_EQ(s.inf_count, ref.inf_count);
  EXPECT_EQ(s.min, ref.min);
  EXPECT_EQ(s.max, ref.max);
  int64_t zeros = 0, saturated = 0;
  std::vector<int64_t> bins(kLog2Bins, 0);
  for (float v : x) {
    zeros += v == 0.0f;
    saturated += v < band.lo || v > band.hi;
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    ++bins[bits >> 23];
  }
  EXPECT_EQ(s.zero_count, zeros);
  EXPECT_EQ(s.saturated_count, saturated);
  if (log2_histogram) {
    EXPECT_EQ(s.log2_histogram, bins);
  } else {
    EXPECT_TRUE(s.log2_histogram.empty());
  }
  const int64_t finite = ref.count - ref.nan_count - ref.inf_count;
  if (finite == 0) {
    EXPECT_EQ(s.mean, 0.0);
    EXPECT_EQ(s.std, 0.0);
    return;
  }
  const float first = x.front();
  const double shift = std::isfinite(first) ? first : 0.0;
  double abs_d = 0.0, abs_v = 0.0;
  for (float v : x) {
    if (!std::isfinite(v)) continue;
    abs_d += std::fabs(v - shift);
    abs_v += std::fabs(v);
  }
  const double n = static_cast<double>(finite);
  const double u = std::ldexp(1.0, -53);
  const double ref_mean_error = Gamma(n + 1) * abs_v / n;
  const double offset = std::fabs(ref.mean - shift);
  const double var = ref.std * ref.std;
  const double mean_tolerance = Gamma(n + 3) * abs_d / n + u * std::fabs(ref.mean) + ref_mean_error;
  const double var_error = Gamma(n + 3) * (var + offset * offset) +
                           2 * offset * Gamma(n + 3) * abs_d / n + Gamma(3) * var;
  const double std_error = ref.std > 0 ? var_error / (2 * ref.std) : std::sqrt(var_error);
  const double std_tolerance = std_error + ref_mean_error + Gamma(n + 4) * ref.std;
  EXPECT_NEAR(s.mean, ref.mean, mean_tolerance);
  EXPECT_NEAR(s.std, ref.std, std_tolerance);
}

}  // namespace fanin::testing
