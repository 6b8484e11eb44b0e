// Shared by the CUDA test files: the fixture that skips without a GPU, tensors with the
// same values on both backends, and element-wise comparisons with explained tolerances.
#pragma once

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "../test_util.h"
#include "fanin/fanin.h"

namespace fanin::testing {

// float's unit roundoff: half an ulp of 1, the relative error of one rounding.
inline constexpr double kFloatRoundoff = 0x1p-24;

// Every CUDA test derives from this: without a usable GPU it is skipped (with the reason),
// so CI machines without one stay green and honest.
class CudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!CudaAvailable()) GTEST_SKIP() << "no CUDA GPU";
    cpu_ = Cpu();
    gpu_ = MakeBackend("cuda");
  }

  // A tensor holding `values` on the CPU and one on the GPU.
  std::pair<Tensor, Tensor> Both(const Shape& shape, const std::vector<float>& values) const {
    return {Tensor::FromHost(cpu_, shape, values), Tensor::FromHost(gpu_, shape, values)};
  }

  std::shared_ptr<Backend> cpu_;
  std::shared_ptr<Backend> gpu_;
};

// Expects |actual[i] - expected[i]| <= tolerance(i) for every i (NaN only against NaN);
// on failure reports how many elements fail and the first few, with their tolerances.
inline void ExpectClose(const std::vector<float>& expected, const std::vector<float>& actual,
                        const std::function<double(size_t)>& tolerance, const std::string& what) {
  ASSERT_EQ(expected.size(), actual.size()) << what;
  int64_t failures = 0;
  std::ostringstream first;
  for (size_t i = 0; i < expected.size(); ++i) {
    const double e = expected[i], a = actual[i];
    const bool ok = std::isnan(e) ? std::isnan(a) : (e == a || std::fabs(a - e) <= tolerance(i));
    if (ok) continue;
    if (failures++ < 5) {
      first << "\n  [" << i << "] cpu " << e << " cuda " << a << " |diff| " << std::fabs(a - e)
            << " > tolerance " << tolerance(i);
    }
  }
  EXPECT_EQ(failures, 0) << what << ": " << failures << " of " << expected.size()
                         << " elements differ" << first.str();
}

// Relative + absolute tolerance: |a - e| <= rtol |e| + atol.
inline void ExpectClose(const std::vector<float>& expected, const std::vector<float>& actual,
                        double rtol, double atol, const std::string& what) {
  ExpectClose(
      expected, actual, [&](size_t i) { return rtol * std::fabs(expected[i]) + atol; }, what);
}

inline void ExpectBitIdentical(const std::vector<float>& expected, const std::vector<float>& actual,
                               const std::string& what) {
  ASSERT_EQ(expected.size(), actual.size()) << what;
  int64_t failures = 0;
  size_t first = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    if (std::bit_cast<uint32_t>(expected[i]) != std::bit_cast<uint32_t>(actual[i])) {
      if (failures++ == 0) first = i;
    }
  }
  EXPECT_EQ(failures, 0) << what << ": " << failures << " of " << expected.size()
                         << " elements differ in their bits, first at [" << first
                         << "]: " << (failures ? expected[first] : 0.0f) << " vs "
                         << (failures ? actual[first] : 0.0f);
}

}  // namespace fanin::testing
