// Helpers shared by the fanin test files: host <-> tensor conversion, the ops' double-precision
// references (ops/<op>/reference.h, written independently of the library), element-wise
// comparisons with explained tolerances, and sample statistics.
//
// Everything numeric here is deliberately plain double arithmetic so that tests compare
// the library against an independent reference, never against itself.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <memory>
#include <numbers>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "fanin/fanin.h"
#include "ops/activation/reference.h"
#include "ops/bce/reference.h"

namespace fanin::testing {

// A CPU backend with a fixed thread count, so that test results do not depend on the
// machine's core count (the suite is meant to run on 2 cores).
inline std::shared_ptr<Backend> Cpu(int num_threads = 2) {
  return MakeBackend("cpu", BackendOptions{.num_threads = num_threads});
}

// A directory for the running test alone (its prefix, this process, the test's name), empty
// and created; the caller removes it.
inline std::filesystem::path FreshTestDirectory(const std::string& prefix) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      (prefix + "_" + std::to_string(getpid()) + "_" +
       ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// A program built next to the running test binary (CMAKE_RUNTIME_OUTPUT_DIRECTORY).
inline std::filesystem::path ProgramPath(const std::string& name) {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path() / name;
}

// The whole content of a file ("" when it cannot be opened).
inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

inline Tensor MakeTensor(const std::shared_ptr<Backend>& backend, Shape shape,
                         const std::vector<float>& values) {
  return Tensor::FromHost(backend, std::move(shape), values);
}

// Deterministic test inputs: U(lo, hi) floats from a seeded std::mt19937 (independent of
// fanin's own Philox generator, so a bug there cannot hide in the inputs).
inline std::vector<float> RandomFloats(size_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> out(n);
  for (float& v : out) v = dist(gen);
  return out;
}

inline std::vector<double> ToDouble(const std::vector<float>& v) {
  return std::vector<double>(v.begin(), v.end());
}

// ---- Element-wise comparisons -------------------------------------------------------------

// float's unit roundoff: half an ulp of 1, the relative error of one rounding.
inline constexpr double kFloatRoundoff = 0x1p-24;

// Expects |actual[i] - expected[i]| <= tolerance(i) for every i (NaN only against NaN; a
// reference beyond float's range only against the infinity of its sign, the float IEEE
// overflow rounds it to: exponential's exp(100)); on failure reports how many elements fail
// and the first few, with their tolerances. `expected` is float (another backend's result) or
// double (a reference).
template <typename Expected>
void ExpectClose(const std::vector<Expected>& expected, const std::vector<float>& actual,
                 const std::function<double(size_t)>& tolerance, const std::string& what) {
  ASSERT_EQ(expected.size(), actual.size()) << what;
  int64_t failures = 0;
  std::ostringstream first;
  for (size_t i = 0; i < expected.size(); ++i) {
    const double e = expected[i], a = actual[i];
    const bool overflows = std::fabs(e) > std::numeric_limits<float>::max();
    const bool ok = std::isnan(e) ? std::isnan(a)
                    : overflows   ? std::isinf(a) && std::signbit(a) == std::signbit(e)
                                  : (e == a || std::fabs(a - e) <= tolerance(i));
    if (ok) continue;
    if (failures++ < 5) {
      first << "\n  [" << i << "] expected " << e << " actual " << a << " |diff| "
            << std::fabs(a - e) << " > tolerance " << tolerance(i);
    }
  }
  EXPECT_EQ(failures, 0) << what << ": " << failures << " of " << expected.size()
                         << " elements differ" << first.str();
}

// Relative + absolute tolerance: |a - e| <= rtol |e| + atol.
template <typename Expected>
void ExpectClose(const std::vector<Expected>& expected, const std::vector<float>& actual,
                 double rtol, double atol, const std::string& what) {
  ExpectClose(
      expected, actual, [&](size_t i) { return rtol * std::fabs(expected[i]) + atol; }, what);
}

// The same bits as float(expected[i]), where any NaN matches any NaN (backends differ in the
// sign and payload of the NaN they produce). For results that are copies, or one IEEE operation
// away from their inputs.
template <typename Expected>
void ExpectBitIdentical(const std::vector<Expected>& expected, const std::vector<float>& actual,
                        const std::string& what) {
  ASSERT_EQ(expected.size(), actual.size()) << what;
  int64_t failures = 0;
  size_t first = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto e = static_cast<float>(expected[i]);
    const bool same = std::isnan(e)
                          ? std::isnan(actual[i])
                          : std::bit_cast<uint32_t>(e) == std::bit_cast<uint32_t>(actual[i]);
    if (!same && failures++ == 0) first = i;
  }
  EXPECT_EQ(failures, 0) << what << ": " << failures << " of " << expected.size()
                         << " elements differ in their bits, first at [" << first << "]: expected "
                         << (failures ? static_cast<float>(expected[first]) : 0.0f) << " actual "
                         << (failures ? actual[first] : 0.0f);
}

// ---- Statistics ---------------------------------------------------------------------------

struct SampleMoments {
  double mean = 0.0;
  double std = 0.0;  // population std (divides by n)
  double min = 0.0;
  double max = 0.0;
};

inline SampleMoments Moments(const std::vector<float>& v) {
  SampleMoments m;
  if (v.empty()) return m;
  double sum = 0.0;
  m.min = m.max = v[0];
  for (float x : v) {
    sum += x;
    m.min = std::min<double>(m.min, x);
    m.max = std::max<double>(m.max, x);
  }
  m.mean = sum / static_cast<double>(v.size());
  double ss = 0.0;
  for (float x : v) ss += (x - m.mean) * (x - m.mean);
  m.std = std::sqrt(ss / static_cast<double>(v.size()));
  return m;
}

// Standard normal density and the moments of a standard normal truncated to [-c, c]:
//   Z = 2 Phi(c) - 1,  E[x^2] = 1 - 2 c phi(c) / Z,  E[x^4] = 3 - (2c^3 + 6c) phi(c) / Z
// (both by integrating x^k phi(x) by parts over [-c, c]).
inline double NormalPdf(double x) { return std::exp(-0.5 * x * x) / std::sqrt(2.0 * M_PI); }
inline double TruncatedNormalVariance(double c) {
  const double z = std::erf(c / std::sqrt(2.0));
  return 1.0 - 2.0 * c * NormalPdf(c) / z;
}
inline double TruncatedNormalKurtosis(double c) {
  const double z = std::erf(c / std::sqrt(2.0));
  const double m4 = 3.0 - (2.0 * c * c * c + 6.0 * c) * NormalPdf(c) / z;
  const double m2 = TruncatedNormalVariance(c);
  return m4 / (m2 * m2);
}

// Tolerances derived from the sample size n (5 standard errors: a false alarm has
// probability below 1e-6 per check, while a real error of a few percent is caught):
//   mean: 5 * sigma / sqrt(n)
//   std:  5 * sigma * sqrt((kurtosis - 1) / (4 n)), the standard error of the sample std
//         (delta method on the sample variance, whose variance is sigma^4 (kurtosis-1)/n).
inline double MeanTolerance(double sigma, double n) { return 5.0 * sigma / std::sqrt(n); }
inline double StdTolerance(double sigma, double kurtosis, double n) {
  return 5.0 * sigma * std::sqrt((kurtosis - 1.0) / (4.0 * n));
}
inline constexpr double kNormalKurtosis = 3.0;
inline constexpr double kUniformKurtosis = 1.8;

// ---- Messages -----------------------------------------------------------------------------

// Whether `text` contains the integer `n` as a whole number, written plainly ("41601") or
// with thousands separators ("41,601" or "41'601").
inline bool ContainsNumber(const std::string& text, int64_t n) {
  std::string plain = std::to_string(n);
  std::string grouped;
  for (size_t i = 0; i < plain.size(); ++i) {
    if (i > 0 && (plain.size() - i) % 3 == 0) grouped += "[,']?";
    grouped += plain[i];
  }
  return std::regex_search(text, std::regex("(^|[^0-9.,])" + grouped + "($|[^0-9])"));
}

}  // namespace fanin::testing
