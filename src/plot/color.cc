// The qualitative palette and the two color maps.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "fanin/plot.h"

namespace fanin::plot {
namespace {

struct Rgb {
  double r, g, b;
};

// Linear interpolation between evenly spaced anchor colors.
template <size_t N>
Color Interpolate(const std::array<Rgb, N>& anchors, double t) {
  const double position = std::clamp(t, 0.0, 1.0) * (N - 1);
  const size_t i = std::min(static_cast<size_t>(position), N - 2);
  const double f = position - static_cast<double>(i);
  const auto mix = [&](double a, double b) {
    return static_cast<int>(std::lround(a + f * (b - a)));
  };
  char hex[8];
  std::snprintf(hex, sizeof hex, "#%02x%02x%02x", mix(anchors[i].r, anchors[i + 1].r),
                mix(anchors[i].g, anchors[i + 1].g), mix(anchors[i].b, anchors[i + 1].b));
  return hex;
}

}  // namespace

Color PaletteColor(size_t i) {
  static constexpr const char* kTableau10[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                               "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                               "#bcbd22", "#17becf"};
  return kTableau10[i % std::size(kTableau10)];
}

Color MapColor(ColorMap map, double t) {
  if (std::isnan(t)) return "#d9d9d9";
  // Viridis sampled at nine points; ColorBrewer's RdBu at five.
  static constexpr std::array<Rgb, 9> kViridis = {{{68, 1, 84},
                                                   {71, 44, 122},
                                                   {59, 81, 139},
                                                   {44, 113, 142},
                                                   {33, 144, 141},
                                                   {39, 173, 129},
                                                   {92, 200, 99},
                                                   {170, 220, 50},
                                                   {253, 231, 37}}};
  static constexpr std::array<Rgb, 5> kRedBlue = {
      {{178, 24, 43}, {239, 138, 98}, {247, 247, 247}, {103, 169, 207}, {33, 102, 172}}};
  return map == ColorMap::kViridis ? Interpolate(kViridis, t) : Interpolate(kRedBlue, t);
}

}  // namespace fanin::plot
