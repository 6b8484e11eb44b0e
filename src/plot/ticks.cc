// Tick positions and labels, and the data-to-pixel mapping of an axis.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "internal.h"

namespace fanin::plot {
namespace {

// Ratios closer than this to a whole number count as whole: floating-point steps such
// as 0.1 * 3 must still land on their tick.
constexpr double kSlack = 1e-9;

std::string ToChars(double v, std::chars_format format, int precision) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, v, format, precision);
  return std::string(buffer, result.ptr);
}

// "2.500e-05" -> "2.5e-5", "1.000e+06" -> "1e6".
std::string CompactScientific(double v, int mantissa_decimals) {
  std::string text = ToChars(v, std::chars_format::scientific, mantissa_decimals);
  const size_t e = text.find('e');
  std::string mantissa = text.substr(0, e);
  if (mantissa.find('.') != std::string::npos) {
    mantissa.erase(mantissa.find_last_not_of('0') + 1);
    if (mantissa.back() == '.') mantissa.pop_back();
  }
  const int exponent = std::stoi(text.substr(e + 1));
  return mantissa + "e" + std::to_string(exponent);
}

// Six significant digits, plain or, beyond 1e-5..1e6, as compact scientific notation.
std::string ShortLabel(double v) {
  const std::string text = ToChars(v, std::chars_format::general, 6);
  const size_t e = text.find('e');
  if (e == std::string::npos) return text;
  return text.substr(0, e + 1) + std::to_string(std::stoi(text.substr(e + 1)));
}

// Labels for ticks `step` apart: as many decimals as the step needs, or scientific
// notation when plain numbers would be too long.
std::vector<std::string> LinearLabels(const std::vector<double>& values, double step) {
  double largest = 0;
  for (const double v : values) largest = std::max(largest, std::abs(v));
  const int step_exponent = static_cast<int>(std::floor(std::log10(step) + kSlack));
  const bool scientific = largest >= 1e6 || step < 1e-4;
  std::vector<std::string> labels;
  for (double v : values) {
    if (std::abs(v) < step * kSlack) v = 0;  // no "-0" or "1e-17" for zero
    if (v == 0 && scientific) {
      labels.push_back("0");
    } else if (scientific) {
      const int exponent = static_cast<int>(std::floor(std::log10(std::abs(v)) + kSlack));
      labels.push_back(CompactScientific(v, std::max(0, exponent - step_exponent)));
    } else {
      labels.push_back(ToChars(v, std::chars_format::fixed, std::max(0, -step_exponent)));
    }
  }
  return labels;
}

// A decade's label: "0.01", "1", "100" when every decade shown is within 1e-2..1e3,
// otherwise "1e-3", "1e0", "1e6" throughout, so one axis uses one notation.
std::string DecadeLabel(int exponent, bool plain) {
  // Built by appending: GCC 12 warns falsely (-Wrestrict) about "literal" + std::string.
  std::string label;
  if (!plain) {
    label = "1e";
    label += std::to_string(exponent);
  } else if (exponent >= 0) {
    label = "1";
    label.append(static_cast<size_t>(exponent), '0');
  } else {
    label = "0.";
    label.append(static_cast<size_t>(-exponent - 1), '0');
    label += '1';
  }
  return label;
}

}  // namespace

Ticks LinearTicks(double lo, double hi, int target) {
  Ticks ticks;
  // A span wider than any double has no step to count in.
  if (!std::isfinite(hi - lo) || lo > hi) return ticks;
  // A span below 1e-12 of the values is rounding noise, and counting multiples of so small a
  // step would run past 2^53, where adding one to a double no longer changes it: one tick.
  // So is a span near the subnormal doubles, where powers of ten are inexact or zero.
  if (hi - lo <= 1e-12 * std::max(std::abs(lo), std::abs(hi)) || hi - lo < 1e-290) {
    ticks.values = {lo};
    ticks.labels = {ShortLabel(lo)};
    return ticks;
  }
  // The smallest step of 1, 2 or 5 times a power of ten giving at most `target` intervals:
  // kMantissas[m] * 10^exponent.
  static constexpr double kMantissas[] = {1, 2, 5};
  const double raw = (hi - lo) / std::max(1, target);
  int exponent = static_cast<int>(std::floor(std::log10(raw)));
  int m = 0;
  while (m < 3 && kMantissas[m] * std::pow(10.0, exponent) < raw * (1 - kSlack)) ++m;
  if (m == 3) {
    m = 0;
    ++exponent;
  }
  // Integer multiples of the step, so errors do not accumulate along the axis.
  double step = 0, first = 0, last = 0;
  for (;;) {
    step = kMantissas[m] * std::pow(10.0, exponent);
    first = std::ceil(lo / step - kSlack);
    last = std::floor(hi / step + kSlack);
    // That step may leave a single multiple inside the range ([0.0001, 0.9999] in steps of
    // 0.5): the next smaller one then. A step at most half the span always fits two.
    if (last > first) break;
    if (--m < 0) {
      m = 2;
      --exponent;
    }
  }
  for (double k = first; k <= last; ++k) ticks.values.push_back(k * step);
  ticks.labels = LinearLabels(ticks.values, step);
  return ticks;
}

Ticks LogTicks(double lo, double hi, int target) {
  Ticks ticks;
  if (!(lo > 0) || !std::isfinite(hi) || lo >= hi) return ticks;
  const int first = static_cast<int>(std::ceil(std::log10(lo) - kSlack));
  const int last = static_cast<int>(std::floor(std::log10(hi) + kSlack));
  if (last - first + 1 >= 2) {
    // Every stride-th decade, on multiples of the stride so the labels look regular.
    const int stride = (last - first + std::max(1, target)) / std::max(1, target);
    const bool plain = first >= -2 && last <= 3;
    for (int e = first; e <= last; ++e) {
      if (e % stride != 0) continue;
      ticks.values.push_back(std::pow(10.0, e));
      ticks.labels.push_back(DecadeLabel(e, plain));
    }
    return ticks;
  }
  // Under two decades: 1, 2 and 5 times the powers of ten, labelled in their shortest form.
  const int low_exponent = static_cast<int>(std::floor(std::log10(lo)));
  for (int e = low_exponent; e <= last; ++e) {
    for (const double m : {1.0, 2.0, 5.0}) {
      const double v = m * std::pow(10.0, e);
      if (v < lo * (1 - kSlack) || v > hi * (1 + kSlack)) continue;
      ticks.values.push_back(v);
      ticks.labels.push_back(ShortLabel(v));
    }
  }
  if (ticks.values.size() >= 2) return ticks;
  return LinearTicks(lo, hi, target);
}

AxisMap::AxisMap(Scale scale, double lo, double hi, double pixel_lo, double pixel_hi)
    : scale_(scale), lo_(lo), hi_(hi), pixel_lo_(pixel_lo), pixel_hi_(pixel_hi) {
  const bool valid = std::isfinite(lo) && std::isfinite(hi) && lo < hi &&
                     (scale == Scale::kLinear || lo > 0) && std::isfinite(pixel_lo) &&
                     std::isfinite(pixel_hi);
  if (!valid) {
    throw std::invalid_argument("fanin::plot::AxisMap: invalid range [" + std::to_string(lo) +
                                ", " + std::to_string(hi) + "]" +
                                (scale == Scale::kLog10 ? " on a log scale" : ""));
  }
}

bool AxisMap::Drawable(double v) const {
  return std::isfinite(v) && (scale_ == Scale::kLinear || v > 0);
}

double AxisMap::operator()(double v) const {
  const double t = scale_ == Scale::kLinear
                       ? (v - lo_) / (hi_ - lo_)
                       : (std::log10(v) - std::log10(lo_)) / (std::log10(hi_) - std::log10(lo_));
  return pixel_lo_ + t * (pixel_hi_ - pixel_lo_);
}

Scale ScaleFor(const std::vector<double>& values, double decades) {
  double lo = INFINITY, hi = -INFINITY;
  for (double v : values) {
    if (!std::isfinite(v) || v == 0) continue;
    if (v < 0) return Scale::kLinear;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  return lo <= hi && std::log10(hi / lo) >= decades ? Scale::kLog10 : Scale::kLinear;
}

namespace internal {

std::vector<double> LogMinorTicks(double lo, double hi) {
  std::vector<double> minor;
  // Beyond six decades the minor ticks would crowd into a gray smear.
  if (!(lo > 0) || !std::isfinite(hi) || lo >= hi || std::log10(hi / lo) > 6) return minor;
  for (int e = static_cast<int>(std::floor(std::log10(lo)));
       e <= static_cast<int>(std::floor(std::log10(hi))); ++e) {
    for (int m = 2; m <= 9; ++m) {
      const double v = m * std::pow(10.0, e);
      if (v >= lo && v <= hi) minor.push_back(v);
    }
  }
  return minor;
}

}  // namespace internal
}  // namespace fanin::plot
