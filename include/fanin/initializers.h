// Keras-compatible weight initializers.
//
// VarianceScaling(scale, mode, distribution) draws with variance scale / n, where n is
// fan_in, fan_out or their average:
//   truncated_normal:   stddev sqrt(scale / n) / 0.87962566103423978, values beyond two of
//                       those stddevs re-drawn, so the result has stddev sqrt(scale / n)
//                       (Keras >= 2.2.0). With truncation_correction = false the division
//                       is skipped, as in Keras before 2.2.0 (about 12% too narrow).
//   untruncated_normal: stddev sqrt(scale / n).
//   uniform:            U(-limit, limit), limit = sqrt(3 * scale / n).
// The named families: glorot_* (1, fan_avg), he_* (2, fan_in), lecun_* (1, fan_in), each
// _normal (truncated) and _uniform.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "fanin/random.h"
#include "fanin/tensor.h"

namespace fanin {

// The std of a standard normal truncated to [-2, 2].
inline constexpr double kTruncatedNormalStdCorrection = 0.87962566103423978;

enum class FanMode { kFanIn, kFanOut, kFanAvg };
enum class VarianceDistribution { kTruncatedNormal, kUntruncatedNormal, kUniform };

struct Fans {
  int64_t fan_in = 0;
  int64_t fan_out = 0;
};
// Keras's fans: 1-D [n] -> (n, n); 2-D [in, out] -> (in, out); N-D -> receptive field times
// the last two dimensions.
Fans ComputeFans(const Shape& shape);

class Initializer {
 public:
  // Keras's default kernel initializer.
  Initializer() : Initializer(GlorotUniform()) {}

  static Initializer VarianceScaling(double scale, FanMode mode, VarianceDistribution distribution,
                                     bool truncation_correction = true);
  static Initializer GlorotNormal() { return VarianceScaling(1.0, FanMode::kFanAvg, kTrunc); }
  static Initializer GlorotUniform() { return VarianceScaling(1.0, FanMode::kFanAvg, kUnif); }
  static Initializer HeNormal() { return VarianceScaling(2.0, FanMode::kFanIn, kTrunc); }
  static Initializer HeUniform() { return VarianceScaling(2.0, FanMode::kFanIn, kUnif); }
  static Initializer LecunNormal() { return VarianceScaling(1.0, FanMode::kFanIn, kTrunc); }
  static Initializer LecunUniform() { return VarianceScaling(1.0, FanMode::kFanIn, kUnif); }
  // Plain (untruncated) normal and uniform, independent of the fans. Every factory throws
  // std::invalid_argument naming the initializer when a value it could draw is not a
  // finite float: a NaN or infinite argument, |mean| + 10 stddev (a normal draw never goes
  // beyond 9.4 stddev), |lo|, |hi| or |value| above 3.4e38, or a VarianceScaling scale
  // whose distribution for fans of 1 reaches that far.
  static Initializer Normal(double mean, double stddev);
  static Initializer Uniform(double lo, double hi);
  static Initializer Constant(double value);
  static Initializer Zeros() { return Constant(0.0); }

  // By name: glorot_normal, glorot_uniform, he_normal, he_uniform, lecun_normal,
  // lecun_uniform, glorot_normal_uncorrected and he_normal_uncorrected (the truncated
  // normal without the 0.8796 correction), zeros, ones, random_normal (Keras: N(0, 0.05)),
  // random_uniform (U(-0.05, 0.05)), and with arguments: normal(mean,stddev) or
  // normal(stddev), uniform(lo,hi), constant(value). An unknown or malformed name throws
  // std::invalid_argument that lists the valid ones.
  static Initializer FromName(std::string_view name);

  // Canonical name ("he_normal", "normal(0,0.01)"), which FromName parses back; a
  // VarianceScaling outside the named families reads "variance_scaling(3,fan_out,uniform)".
  std::string name() const;

  // Fills `t` for a tensor with the given fans, drawing from the (seed, stream) Philox
  // stream. Constant initializers draw nothing.
  void Apply(Tensor& t, const Fans& fans, uint64_t seed, uint32_t stream) const;

  // The distribution Apply draws from for these fans (kind, mean/lo, stddev/hi).
  RandomSpec Resolve(const Fans& fans) const;
  bool is_constant() const { return kind_ == Kind::kConstant; }
  double constant_value() const { return a_; }

 private:
  static constexpr VarianceDistribution kTrunc = VarianceDistribution::kTruncatedNormal;
  static constexpr VarianceDistribution kUnif = VarianceDistribution::kUniform;
  enum class Kind { kVarianceScaling, kNormal, kUniform, kConstant };
  Initializer(Kind kind, double a, double b) : kind_(kind), a_(a), b_(b) {}

  Kind kind_ = Kind::kConstant;
  double a_ = 0.0;  // scale | mean | lo | value
  double b_ = 0.0;  //         stddev | hi
  FanMode mode_ = FanMode::kFanAvg;
  VarianceDistribution distribution_ = kUnif;
  bool truncation_correction_ = true;
};

}  // namespace fanin
