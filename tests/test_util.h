// Helpers shared by the fanin test files: host <-> tensor conversion, double-precision
// reference math written independently of the library, and sample statistics.
//
// Everything numeric here is deliberately plain double arithmetic so that tests compare
// the library against an independent reference, never against itself.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <numbers>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "fanin/fanin.h"

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

// ---- Reference math (double) ------------------------------------------------------------

inline double RefSigmoid(double z) {
  return z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z));
}

inline double RefActivation(Activation act, double z) {
  switch (act) {
    case Activation::kLinear:
      return z;
    case Activation::kSigmoid:
      return RefSigmoid(z);
    case Activation::kTanh:
      return std::tanh(z);
    case Activation::kRelu:
      return z > 0 || std::isnan(z) ? z : 0.0;
    case Activation::kSoftplus:
      return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
    case Activation::kGelu:  // z Phi(z), the exact form (Keras's default)
      return 0.5 * z * (1.0 + std::erf(z / std::sqrt(2.0)));
    case Activation::kSilu:
      return z * RefSigmoid(z);
    case Activation::kElu:  // alpha = 1, Keras's default
      return z > 0 ? z : std::exp(z) - 1.0;
    case Activation::kHardSigmoid:  // Keras 3's: relu6(z + 3) / 6
      return std::isnan(z) ? z : std::clamp(z / 6.0 + 0.5, 0.0, 1.0);
  }
  return 0.0;
}

// d act / d z, written from the textbook formulas (not from a = act(z) tricks).
inline double RefActivationDerivative(Activation act, double z) {
  switch (act) {
    case Activation::kLinear:
      return 1.0;
    case Activation::kSigmoid: {
      const double s = RefSigmoid(z);
      return s * (1.0 - s);
    }
    case Activation::kTanh: {
      const double c = std::cosh(z);
      return 1.0 / (c * c);
    }
    case Activation::kRelu:
      return z > 0 ? 1.0 : (std::isnan(z) ? z : 0.0);
    case Activation::kSoftplus:
      return RefSigmoid(z);
    case Activation::kGelu:  // Phi(z) + z phi(z)
      return 0.5 * (1.0 + std::erf(z / std::sqrt(2.0))) +
             z * std::exp(-0.5 * z * z) / std::sqrt(2.0 * std::numbers::pi);
    case Activation::kSilu: {
      const double s = RefSigmoid(z);
      return s + z * s * (1.0 - s);
    }
    case Activation::kElu:
      return z > 0 ? 1.0 : std::exp(z);
    case Activation::kHardSigmoid:
      return -3 < z && z < 3 ? 1.0 / 6.0 : (std::isnan(z) ? z : 0.0);
  }
  return 0.0;
}

// Per-sample BCE from a logit z, y possibly soft: -y log s(z) - (1-y) log(1-s(z)), in
// the overflow-free form (log s(z) = -log1p(exp(-z)) for z >= 0, z - log1p(exp(z)) else).
inline double RefBceLogit(double z, double y) {
  const double log_s = z >= 0 ? -std::log1p(std::exp(-z)) : z - std::log1p(std::exp(z));
  const double log_1ms = z >= 0 ? -z - std::log1p(std::exp(-z)) : -std::log1p(std::exp(z));
  return -y * log_s - (1.0 - y) * log_1ms;
}

// Per-sample BCE from a probability, unclipped (callers keep p inside (0, 1)).
inline double RefBceProbability(double p, double y) {
  return -y * std::log(p) - (1.0 - y) * std::log(1.0 - p);
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
