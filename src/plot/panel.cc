// One panel: resolving an Axes (colors, limits, ticks, margins, legend placement) and
// drawing it. Margins are computed from the text they must hold, so labels are never
// clipped whatever their length.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "internal.h"

namespace fanin::plot::internal {
namespace {

constexpr double kTickLength = 5;
constexpr double kTickGap = 3;  // between a tick and its label
constexpr double kPad = 6;
constexpr double kCos45 = 0.7071;
const Color kFrame = "#333333";
const Color kGridLine = "#e6e6e6";

// The color a series asks for; Grid has none (its cells use a color map).
std::optional<Color> RequestedColor(const Series& series) {
  return std::visit(
      [](const auto& s) -> std::optional<Color> {
        if constexpr (requires { s.color; }) {
          return s.color;
        } else {
          return std::nullopt;
        }
      },
      series);
}

bool IsGrouped(const Series& series) {
  return std::holds_alternative<Bars>(series) || std::holds_alternative<Boxes>(series) ||
         std::holds_alternative<Violins>(series);
}

// The limits of one axis: the data's extent with a 5% margin (in log space on a log
// axis) except at sticky ends, overridden by the limits the caller set.
std::pair<double, double> Limits(Extent extent, std::optional<double> user_lo,
                                 std::optional<double> user_hi, Scale scale, bool pad,
                                 const std::string& name) {
  const bool log = scale == Scale::kLog10;
  for (const auto& user : {user_lo, user_hi}) {
    if (user && (!std::isfinite(*user) || (log && *user <= 0))) {
      throw std::invalid_argument("fanin::plot: the " + name + " limit " + std::to_string(*user) +
                                  " is not valid" + (log ? " on a log scale" : ""));
    }
  }
  // Work in log10 space on a log axis, so margins and fallbacks are in decades.
  const auto to = [&](double v) { return log ? std::log10(v) : v; };
  const auto from = [&](double v) { return log ? std::pow(10.0, v) : v; };
  double lo = 0, hi = 1;  // no data: [0, 1], or [1, 10] on a log axis
  if (!extent.empty()) {
    lo = to(extent.lo);
    hi = to(extent.hi);
    // Data that do not vary (up to rounding) get a range around them: half a decade on a
    // log axis, 10% of the value (or 1 about zero) on a linear one.
    if (hi - lo <= 1e-9 * std::max({log ? 1.0 : 0.0, std::abs(lo), std::abs(hi)})) {
      const double center = (lo + hi) / 2;
      const double half = log ? 0.5 : (center == 0 ? 1 : std::abs(center) * 0.1);
      lo = center - half;
      hi = center + half;
    } else if (pad) {
      const double margin = std::isfinite(hi - lo) ? 0.05 * (hi - lo) : 0;
      if (extent.lo != extent.sticky_lo) lo -= margin;
      if (extent.hi != extent.sticky_hi) hi += margin;
    }
  }
  if (user_lo) lo = to(*user_lo);
  if (user_hi) hi = to(*user_hi);
  if (lo >= hi) {
    if (user_lo && user_hi) {
      throw std::invalid_argument("fanin::plot: the " + name + " limits [" +
                                  std::to_string(*user_lo) + ", " + std::to_string(*user_hi) +
                                  "] are empty");
    }
    // One limit set past the data: keep it and give the axis one unit (or decade).
    if (user_lo) hi = lo + 1;
    if (user_hi) lo = hi - 1;
  }
  // A margin past the range of doubles would make a limit infinite (or zero on a log axis).
  constexpr double kMax = std::numeric_limits<double>::max();
  const double floor = log ? std::numeric_limits<double>::min() : -kMax;
  return {std::clamp(from(lo), floor, kMax), std::clamp(from(hi), floor, kMax)};
}

Ticks AxisTicks(Scale scale, double lo, double hi, double pixels, double pixels_per_tick) {
  const int target = std::max(2, static_cast<int>(pixels / pixels_per_tick));
  return scale == Scale::kLog10 ? LogTicks(lo, hi, target) : LinearTicks(lo, hi, target);
}

double WidestText(const std::vector<std::string>& texts, double font_size) {
  double widest = 0;
  for (const std::string& text : texts) widest = std::max(widest, TextWidth(text, font_size));
  return widest;
}

}  // namespace

Panel PreparePanel(const Axes& axes, double plot_width, double plot_height) {
  Panel panel;
  panel.axes = &axes;
  const std::string name = axes.title.empty() ? "panel" : "panel '" + axes.title + "'";
  const bool categorical = !axes.categories.empty();
  const Scale x_scale = categorical ? Scale::kLinear : axes.x_scale;

  size_t next_color = 0;
  Extent x_extent, y_extent;
  for (const Series& series : axes.series) {
    Validate(series);
    const std::optional<Color> color = RequestedColor(series);
    panel.colors.push_back(!color            ? Color()
                           : !color->empty() ? *color
                                             : PaletteColor(next_color++));
    if (IsGrouped(series)) ++panel.groups;
    AddExtent(series, x_scale, axes.y_scale, x_extent, y_extent);
  }
  if (categorical) {
    x_extent.Add(-0.5);
    x_extent.Add(static_cast<double>(axes.categories.size()) - 0.5);
  }
  // Categories already carry half a category of margin on each side.
  std::tie(panel.x_lo, panel.x_hi) =
      Limits(x_extent, axes.x_min, axes.x_max, x_scale, !categorical, "x of " + name);
  std::tie(panel.y_lo, panel.y_hi) =
      Limits(y_extent, axes.y_min, axes.y_max, axes.y_scale, true, "y of " + name);

  if (categorical) {
    for (size_t i = 0; i < axes.categories.size(); ++i) {
      const double v = static_cast<double>(i);
      if (v < panel.x_lo || v > panel.x_hi) continue;
      panel.x_ticks.values.push_back(v);
      panel.x_ticks.labels.push_back(axes.categories[i]);
    }
  } else {
    panel.x_ticks = AxisTicks(x_scale, panel.x_lo, panel.x_hi, plot_width, 70);
  }
  panel.y_ticks = AxisTicks(axes.y_scale, panel.y_lo, panel.y_hi, plot_height, 40);
  if (x_scale == Scale::kLog10) panel.x_minor = LogMinorTicks(panel.x_lo, panel.x_hi);
  if (axes.y_scale == Scale::kLog10) panel.y_minor = LogMinorTicks(panel.y_lo, panel.y_hi);

  // Tick labels: category names turn by 45 degrees when they would run into each other.
  const AxisMap x(x_scale, panel.x_lo, panel.x_hi, 0, plot_width);
  const double widest_x = WidestText(panel.x_ticks.labels, kTickFont);
  if (categorical) panel.rotate_x_labels = widest_x > std::abs(x(1) - x(0)) - 4;
  panel.x_labels_height = panel.rotate_x_labels ? (widest_x + kTickFont) * kCos45 : kTickFont;
  panel.y_labels_width = WidestText(panel.y_ticks.labels, kTickFont);

  panel.left = kTickLength + kTickGap + panel.y_labels_width + kPad +
               (axes.y_label.empty() ? 0 : kLabelFont + kPad);
  panel.right = 2 * kPad;
  panel.top = axes.title.empty() ? 2 * kPad : kTitleFont + 2 * kPad;
  double bottom = kTickLength + kTickGap + panel.x_labels_height + kPad +
                  (axes.x_label.empty() ? 0 : kLabelFont + kPad);
  // Labels that reach past the ends of the x axis widen the margins there.
  for (size_t i = 0; i < panel.x_ticks.values.size(); ++i) {
    const double width = TextWidth(panel.x_ticks.labels[i], kTickFont);
    const double at = x(panel.x_ticks.values[i]);
    const double reach_left = panel.rotate_x_labels ? width * kCos45 : width / 2;
    const double reach_right = panel.rotate_x_labels ? 0 : width / 2;
    panel.left = std::max(panel.left, reach_left - at + kPad);
    panel.right = std::max(panel.right, at + reach_right - plot_width + kPad);
  }
  // So do a title or an x label wider than the plot, centered on it.
  const double overhang =
      std::max(TextWidth(axes.title, kTitleFont), TextWidth(axes.x_label, kLabelFont)) - plot_width;
  panel.left = std::max(panel.left, overhang / 2 + kPad);
  panel.right = std::max(panel.right, overhang / 2 + kPad);

  if (axes.legend != LegendPosition::kNone) panel.legend = LegendEntries(axes, panel.colors);
  if (!panel.legend.empty() && axes.legend == LegendPosition::kRight) {
    // One entry per row, right of the plot; a legend taller than the plot deepens the panel.
    for (size_t i = 0; i < panel.legend.size(); ++i) {
      panel.legend[i].y = static_cast<double>(i) * kLegendRow;
      panel.legend_width = std::max(
          panel.legend_width, kLegendSwatch + kPad + TextWidth(panel.legend[i].label, kLegendFont));
    }
    panel.legend_height = static_cast<double>(panel.legend.size()) * kLegendRow;
    panel.right = 2 * kPad + panel.legend_width + kPad;
    bottom = std::max(bottom, panel.legend_height - plot_height + kPad);
  } else if (!panel.legend.empty()) {
    // Entries side by side under the x label, wrapping at the plot's width.
    double at_x = 0, at_y = 0;
    for (LegendEntry& entry : panel.legend) {
      const double width = kLegendSwatch + kPad + TextWidth(entry.label, kLegendFont) + 2 * kPad;
      if (at_x > 0 && at_x + width > plot_width) {
        at_x = 0;
        at_y += kLegendRow;
      }
      entry.x = at_x;
      entry.y = at_y;
      at_x += width;
      panel.legend_width = std::max(panel.legend_width, at_x);
    }
    panel.legend_height = at_y + kLegendRow;
    panel.right = std::max(panel.right, panel.legend_width - plot_width + kPad);
    bottom += panel.legend_height + kPad;
  }
  panel.bottom = bottom;
  return panel;
}

void DrawPanel(const Panel& panel, Point origin, double plot_width, double plot_height, int index,
               SvgWriter& svg) {
  const Axes& axes = *panel.axes;
  const bool categorical = !axes.categories.empty();
  const AxisMap x(categorical ? Scale::kLinear : axes.x_scale, panel.x_lo, panel.x_hi, origin.x,
                  origin.x + plot_width);
  const AxisMap y(axes.y_scale, panel.y_lo, panel.y_hi, origin.y + plot_height, origin.y);
  const double left = origin.x, right = origin.x + plot_width;
  const double top = origin.y, bottom = origin.y + plot_height;

  const Style grid_line{.stroke = kGridLine, .stroke_width = 1};
  for (const double v : panel.y_ticks.values) svg.Line({left, y(v)}, {right, y(v)}, grid_line);
  if (!categorical) {
    for (const double v : panel.x_ticks.values) svg.Line({x(v), top}, {x(v), bottom}, grid_line);
  }

  svg.BeginClipped(index, left, top, plot_width, plot_height);
  int group = 0;
  for (size_t i = 0; i < axes.series.size(); ++i) {
    if (std::holds_alternative<Text>(axes.series[i])) continue;  // drawn unclipped below
    DrawSeries(axes.series[i], panel.colors[i], group, panel.groups, x, y, svg);
    if (IsGrouped(axes.series[i])) ++group;
  }
  svg.EndGroup();
  svg.Rect(left, top, plot_width, plot_height, {.stroke = kFrame, .stroke_width = 1});

  const Style tick{.stroke = kFrame, .stroke_width = 1};
  const double label_top = bottom + kTickLength + kTickGap;
  for (size_t i = 0; i < panel.x_ticks.values.size(); ++i) {
    const double at = x(panel.x_ticks.values[i]);
    svg.Line({at, bottom}, {at, bottom + kTickLength}, tick);
    if (panel.rotate_x_labels) {
      // Rotated about the label's end, which sits just under the tick.
      svg.Text({at + 0.35 * kTickFont, label_top + 0.35 * kTickFont}, panel.x_ticks.labels[i],
               {.font_size = kTickFont, .anchor = Anchor::kEnd, .rotate = -45});
    } else {
      svg.Text({at, label_top + 0.8 * kTickFont}, panel.x_ticks.labels[i],
               {.font_size = kTickFont, .anchor = Anchor::kMiddle});
    }
  }
  for (size_t i = 0; i < panel.y_ticks.values.size(); ++i) {
    const double at = y(panel.y_ticks.values[i]);
    svg.Line({left - kTickLength, at}, {left, at}, tick);
    svg.Text({left - kTickLength - kTickGap, at + 0.35 * kTickFont}, panel.y_ticks.labels[i],
             {.font_size = kTickFont, .anchor = Anchor::kEnd});
  }
  for (const double v : panel.x_minor) svg.Line({x(v), bottom}, {x(v), bottom + 3}, tick);
  for (const double v : panel.y_minor) svg.Line({left - 3, y(v)}, {left, y(v)}, tick);

  for (size_t i = 0; i < axes.series.size(); ++i) {
    if (std::holds_alternative<Text>(axes.series[i])) {
      DrawSeries(axes.series[i], panel.colors[i], 0, panel.groups, x, y, svg);
    }
  }

  const double center_x = (left + right) / 2;
  if (!axes.title.empty()) {
    svg.Text({center_x, top - kPad - 2}, axes.title,
             {.font_size = kTitleFont, .anchor = Anchor::kMiddle, .bold = true});
  }
  const double x_label_baseline = label_top + panel.x_labels_height + kPad + kLabelFont * 0.8;
  if (!axes.x_label.empty()) {
    svg.Text({center_x, x_label_baseline}, axes.x_label,
             {.font_size = kLabelFont, .anchor = Anchor::kMiddle});
  }
  if (!axes.y_label.empty()) {
    // Rotated a quarter turn, the glyphs stand left of the baseline point.
    const double baseline = left - kTickLength - kTickGap - panel.y_labels_width - kPad;
    svg.Text({baseline, (top + bottom) / 2}, axes.y_label,
             {.font_size = kLabelFont, .anchor = Anchor::kMiddle, .rotate = -90});
  }
  if (panel.legend.empty()) return;
  if (axes.legend == LegendPosition::kRight) {
    DrawLegend(panel.legend, {right + 2 * kPad, top}, svg);
  } else {
    const double below =
        axes.x_label.empty() ? label_top + panel.x_labels_height + kPad : x_label_baseline + kPad;
    DrawLegend(panel.legend, {left, below}, svg);
  }
}

}  // namespace fanin::plot::internal
