#include "fanin/initializers.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "fanin/backend.h"
#include "fanin/ops.h"

namespace fanin {
namespace {

constexpr const char* kValidNames =
    "glorot_normal, glorot_uniform, he_normal, he_uniform, lecun_normal, lecun_uniform, "
    "glorot_normal_uncorrected, he_normal_uncorrected, zeros, ones, random_normal, "
    "random_uniform, normal(mean,stddev), normal(stddev), uniform(lo,hi), constant(value)";

[[noreturn]] void ThrowUnknown(std::string_view name, std::string_view why) {
  throw std::invalid_argument("unknown initializer '" + std::string(name) + "' (" +
                              std::string(why) + "); valid: " + kValidNames);
}

// "normal(0,0.01)" -> {"normal", {0, 0.01}}; a bare name has no arguments.
std::pair<std::string, std::vector<double>> SplitCall(std::string_view text) {
  const size_t open = text.find('(');
  if (open == std::string_view::npos) return {std::string(text), {}};
  if (text.back() != ')') ThrowUnknown(text, "missing ')'");
  std::vector<double> args;
  std::string_view rest = text.substr(open + 1, text.size() - open - 2);
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    double value = 0.0;
    const auto [end, error] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || error != std::errc() || end != item.data() + item.size() ||
        !std::isfinite(value)) {
      ThrowUnknown(text, "argument '" + std::string(item) + "' is not a finite number");
    }
    args.push_back(value);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return {std::string(text.substr(0, open)), args};
}

// The shortest form that reads back as the same double: 0.01, not 0.01000000000000000021.
std::string FormatNumber(double v) {
  for (int precision = 1;; ++precision) {
    std::ostringstream out;
    out.precision(precision);
    out << v;
    if (precision >= 17 || std::stod(out.str()) == v) return out.str();
  }
}

// Refuses an initializer some of whose draws would not be finite floats (training would
// start from Inf). A normal draw lies within 9.4 standard deviations of its mean (the polar
// method on 32-bit words reaches no further; 10 leaves a margin), a truncated one within 2.
void CheckDrawsAreFiniteFloats(const RandomSpec& spec, const std::string& name) {
  const double reach =
      spec.distribution == RandomDistribution::kUniform
          ? std::max(std::fabs(spec.a), std::fabs(spec.b))
          : std::fabs(spec.a) +
                (spec.distribution == RandomDistribution::kNormal ? 10.0 : 2.0) * spec.b;
  if (!(reach <= std::numeric_limits<float>::max())) {
    throw std::invalid_argument("initializer " + name +
                                ": its values would not all be finite floats (every argument "
                                "must be finite, and the values drawn within +-3.4e38)");
  }
}

}  // namespace

Fans ComputeFans(const Shape& shape) {
  if (shape.empty()) return {1, 1};
  if (shape.size() == 1) return {shape[0], shape[0]};
  if (shape.size() == 2) return {shape[0], shape[1]};
  // ShapeSize checks each product for overflow, naming the shape.
  const int64_t receptive_field = ShapeSize(Shape(shape.begin(), shape.end() - 2));
  return {ShapeSize({shape[shape.size() - 2], receptive_field}),
          ShapeSize({shape[shape.size() - 1], receptive_field})};
}

Initializer Initializer::VarianceScaling(double scale, FanMode mode,
                                         VarianceDistribution distribution,
                                         bool truncation_correction) {
  if (!(scale > 0.0)) {
    throw std::invalid_argument("VarianceScaling: scale must be positive, got " +
                                std::to_string(scale));
  }
  Initializer init(Kind::kVarianceScaling, scale, 0.0);
  init.mode_ = mode;
  init.distribution_ = distribution;
  init.truncation_correction_ = truncation_correction;
  // Fans of 1 give the widest distribution (the variance is scale / max(1, n)).
  CheckDrawsAreFiniteFloats(init.Resolve({1, 1}), init.name());
  return init;
}

Initializer Initializer::Normal(double mean, double stddev) {
  if (!(stddev >= 0.0)) throw std::invalid_argument("Normal: stddev must be >= 0");
  Initializer init(Kind::kNormal, mean, stddev);
  CheckDrawsAreFiniteFloats(init.Resolve({}), init.name());
  return init;
}

Initializer Initializer::Uniform(double lo, double hi) {
  if (!(hi >= lo)) throw std::invalid_argument("Uniform: needs lo <= hi");
  Initializer init(Kind::kUniform, lo, hi);
  CheckDrawsAreFiniteFloats(init.Resolve({}), init.name());
  return init;
}

Initializer Initializer::Constant(double value) {
  Initializer init(Kind::kConstant, value, 0);
  CheckDrawsAreFiniteFloats(init.Resolve({}), init.name());
  return init;
}

Initializer Initializer::FromName(std::string_view name) {
  const auto [base, args] = SplitCall(name);
  auto expect_args = [&, &args = args](size_t lo, size_t hi) {
    if (args.size() < lo || args.size() > hi) ThrowUnknown(name, "wrong number of arguments");
  };
  if (base == "normal") {
    expect_args(1, 2);
    return args.size() == 1 ? Normal(0.0, args[0]) : Normal(args[0], args[1]);
  }
  if (base == "uniform") {
    expect_args(2, 2);
    return Uniform(args[0], args[1]);
  }
  if (base == "constant") {
    expect_args(1, 1);
    return Constant(args[0]);
  }
  expect_args(0, 0);
  if (base == "glorot_normal") return GlorotNormal();
  if (base == "glorot_uniform") return GlorotUniform();
  if (base == "he_normal") return HeNormal();
  if (base == "he_uniform") return HeUniform();
  if (base == "lecun_normal") return LecunNormal();
  if (base == "lecun_uniform") return LecunUniform();
  if (base == "glorot_normal_uncorrected") {
    return VarianceScaling(1.0, FanMode::kFanAvg, kTrunc, /*truncation_correction=*/false);
  }
  if (base == "he_normal_uncorrected") {
    return VarianceScaling(2.0, FanMode::kFanIn, kTrunc, /*truncation_correction=*/false);
  }
  if (base == "zeros") return Zeros();
  if (base == "ones") return Constant(1.0);
  if (base == "random_normal") return Normal(0.0, 0.05);
  if (base == "random_uniform") return Uniform(-0.05, 0.05);
  ThrowUnknown(name, "no such name");
}

std::string Initializer::name() const {
  switch (kind_) {
    case Kind::kNormal:
      return "normal(" + FormatNumber(a_) + "," + FormatNumber(b_) + ")";
    case Kind::kUniform:
      return "uniform(" + FormatNumber(a_) + "," + FormatNumber(b_) + ")";
    case Kind::kConstant:
      return a_ == 0.0 ? "zeros" : a_ == 1.0 ? "ones" : "constant(" + FormatNumber(a_) + ")";
    case Kind::kVarianceScaling:
      break;
  }
  const bool normal = distribution_ == kTrunc;
  const bool named_distribution = normal || distribution_ == kUnif;
  std::string family;
  if (a_ == 1.0 && mode_ == FanMode::kFanAvg) family = "glorot";
  if (a_ == 2.0 && mode_ == FanMode::kFanIn) family = "he";
  if (a_ == 1.0 && mode_ == FanMode::kFanIn) family = "lecun";
  if (!family.empty() && named_distribution && truncation_correction_) {
    return family + (normal ? "_normal" : "_uniform");
  }
  if ((family == "glorot" || family == "he") && normal && !truncation_correction_) {
    return family + "_normal_uncorrected";
  }
  static constexpr const char* kModes[] = {"fan_in", "fan_out", "fan_avg"};
  static constexpr const char* kDistributions[] = {"truncated_normal", "untruncated_normal",
                                                   "uniform"};
  return "variance_scaling(" + FormatNumber(a_) + "," + kModes[static_cast<int>(mode_)] + "," +
         kDistributions[static_cast<int>(distribution_)] +
         (truncation_correction_ ? "" : ",uncorrected") + ")";
}

RandomSpec Initializer::Resolve(const Fans& fans) const {
  RandomSpec spec;
  switch (kind_) {
    case Kind::kNormal:
      spec.distribution = RandomDistribution::kNormal;
      spec.a = a_;
      spec.b = b_;
      return spec;
    case Kind::kUniform:
      spec.distribution = RandomDistribution::kUniform;
      spec.a = a_;
      spec.b = b_;
      return spec;
    case Kind::kConstant:
      spec.distribution = RandomDistribution::kUniform;
      spec.a = spec.b = a_;
      return spec;
    case Kind::kVarianceScaling:
      break;
  }
  const double n = mode_ == FanMode::kFanIn    ? static_cast<double>(fans.fan_in)
                   : mode_ == FanMode::kFanOut ? static_cast<double>(fans.fan_out)
                                               : (fans.fan_in + fans.fan_out) / 2.0;
  const double variance = a_ / std::max(1.0, n);
  switch (distribution_) {
    case VarianceDistribution::kTruncatedNormal:
      spec.distribution = RandomDistribution::kTruncatedNormal;
      spec.b = std::sqrt(variance) / (truncation_correction_ ? kTruncatedNormalStdCorrection : 1.0);
      break;
    case VarianceDistribution::kUntruncatedNormal:
      spec.distribution = RandomDistribution::kNormal;
      spec.b = std::sqrt(variance);
      break;
    case VarianceDistribution::kUniform: {
      const double limit = std::sqrt(3.0 * variance);
      spec.distribution = RandomDistribution::kUniform;
      spec.a = -limit;
      spec.b = limit;
      break;
    }
  }
  return spec;
}

void Initializer::Apply(Tensor& t, const Fans& fans, uint64_t seed, uint32_t stream) const {
  if (kind_ == Kind::kConstant) {
    ops::Fill(t, static_cast<float>(a_));
    return;
  }
  RandomSpec spec = Resolve(fans);
  spec.seed = seed;
  spec.stream = stream;
  ops::FillRandom(t, spec);
}

}  // namespace fanin
