// How each kind of series becomes SVG shapes. Every data value goes through
// AxisMap::Drawable before it is mapped, so NaN, Inf and (on log axes) values <= 0 are
// skipped here rather than turned into coordinates.
#include <algorithm>
#include <cmath>
#include <variant>
#include <vector>

#include "internal.h"

namespace fanin::plot::internal {
namespace {

constexpr double kGroupWidth = 0.8;  // of a category, shared by its side-by-side series
const Color kInk = "#222222";        // whiskers, medians: dark on any palette color

struct Drawer {
  const Color& color;
  int group, groups;
  const AxisMap& x;
  const AxisMap& y;
  SvgWriter& svg;

  // The x center of this series' slot in category i, and the slot's width in pixels.
  double SlotCenter(size_t i) const {
    const double slot = kGroupWidth / std::max(1, groups);
    return static_cast<double>(i) - kGroupWidth / 2 + slot * (group + 0.5);
  }
  double SlotPixels() const { return std::abs(x(kGroupWidth / std::max(1, groups)) - x(0)); }

  // Polyline runs of consecutive drawable points: a line breaks where data is missing.
  void operator()(const Line& s) const {
    const Style style{.stroke = color, .stroke_width = s.width, .dashed = s.dashed};
    std::vector<Point> run;
    const auto flush = [&] {
      if (run.size() >= 2) svg.Polyline(run, style);
      run.clear();
    };
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (x.Drawable(s.x[i]) && y.Drawable(s.y[i])) {
        run.push_back({x(s.x[i]), y(s.y[i])});
      } else {
        flush();
      }
    }
    flush();
    if (!s.markers) return;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (x.Drawable(s.x[i]) && y.Drawable(s.y[i])) {
        svg.Circle({x(s.x[i]), y(s.y[i])}, 2.5, {.fill = color});
      }
    }
  }

  void operator()(const Scatter& s) const {
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!x.Drawable(s.x[i]) || !y.Drawable(s.y[i])) continue;
      svg.Circle({x(s.x[i]), y(s.y[i])}, s.radius,
                 {.fill = s.colors.empty() ? color : s.colors[i], .fill_opacity = s.opacity});
    }
  }

  void operator()(const Band& s) const {
    std::vector<Point> upper, lower;
    const auto flush = [&] {
      if (upper.size() >= 2) {
        upper.insert(upper.end(), lower.rbegin(), lower.rend());
        svg.Polygon(upper, {.fill = color, .fill_opacity = s.opacity});
      }
      upper.clear();
      lower.clear();
    };
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (x.Drawable(s.x[i]) && y.Drawable(s.lower[i]) && y.Drawable(s.upper[i])) {
        upper.push_back({x(s.x[i]), y(s.upper[i])});
        lower.push_back({x(s.x[i]), y(s.lower[i])});
      } else {
        flush();
      }
    }
    flush();
  }

  void operator()(const Bars& s) const {
    // A log axis has no zero: bars rise from its bottom.
    const double base = y.scale() == Scale::kLog10 ? y.lo() : std::clamp(0.0, y.lo(), y.hi());
    const double width = 0.9 * SlotPixels();
    for (size_t i = 0; i < s.values.size(); ++i) {
      const double center = SlotCenter(i);
      if (!x.Drawable(center)) continue;
      const double cx = x(center);
      if (y.Drawable(s.values[i])) {
        const double top = y(s.values[i]), bottom = y(base);
        svg.Rect(cx - width / 2, std::min(top, bottom), width, std::abs(bottom - top),
                 {.fill = color, .fill_opacity = 0.85});
      }
      if (s.lower.empty() || !y.Drawable(s.lower[i]) || !y.Drawable(s.upper[i])) continue;
      const double lo = y(s.lower[i]), hi = y(s.upper[i]);
      if (s.error_style == ErrorStyle::kBand) {
        svg.Rect(cx - width / 2, std::min(lo, hi), width, std::abs(lo - hi),
                 {.fill = "#000000", .stroke = kInk, .stroke_width = 0.8, .fill_opacity = 0.2});
      } else {
        Whisker(cx, lo, hi, std::min(width / 4, 6.0));
      }
    }
  }

  // A vertical line from y0 to y1 (pixels) with caps of half-width `cap`.
  void Whisker(double cx, double y0, double y1, double cap) const {
    const Style style{.stroke = kInk, .stroke_width = 1.2};
    svg.Line({cx, y0}, {cx, y1}, style);
    svg.Line({cx - cap, y0}, {cx + cap, y0}, style);
    svg.Line({cx - cap, y1}, {cx + cap, y1}, style);
  }

  void operator()(const Boxes& s) const {
    const double half = 0.35 * SlotPixels();
    for (size_t i = 0; i < s.data.size(); ++i) {
      const Quantiles q = AsQuantiles(s.data[i]);
      const double center = SlotCenter(i);
      if (!x.Drawable(center) ||
          !std::ranges::all_of(std::initializer_list<double>{q.p10, q.p25, q.median, q.p75, q.p90},
                               [&](double v) { return y.Drawable(v); })) {
        continue;
      }
      const double cx = x(center);
      const Style ink{.stroke = kInk, .stroke_width = 1.2};
      svg.Line({cx, y(q.p10)}, {cx, y(q.p25)}, ink);
      svg.Line({cx, y(q.p75)}, {cx, y(q.p90)}, ink);
      svg.Line({cx - half / 2, y(q.p10)}, {cx + half / 2, y(q.p10)}, ink);
      svg.Line({cx - half / 2, y(q.p90)}, {cx + half / 2, y(q.p90)}, ink);
      const double top = std::min(y(q.p25), y(q.p75));
      svg.Rect(cx - half, top, 2 * half, std::abs(y(q.p25) - y(q.p75)),
               {.fill = color, .stroke = color, .stroke_width = 1.2, .fill_opacity = 0.55});
      svg.Line({cx - half, y(q.median)}, {cx + half, y(q.median)},
               {.stroke = kInk, .stroke_width = 2});
    }
  }

  void operator()(const Violins& s) const {
    const double max_half = 0.45 * SlotPixels();
    for (size_t i = 0; i < s.data.size(); ++i) {
      const double center = SlotCenter(i);
      if (!x.Drawable(center)) continue;
      const double cx = x(center);
      // Density per pixel of height, so bins look right on linear and log axes alike.
      struct Bin {
        double top, bottom, density;
      };
      std::vector<Bin> bins;
      double densest = 0;
      const Histogram h = AsHistogram(s.data[i]);
      for (size_t b = 0; b + 1 < h.edges.size() && b < h.counts.size(); ++b) {
        const double lo = h.edges[b], hi = h.edges[b + 1], count = h.counts[b];
        if (!(lo < hi) || !y.Drawable(lo) || !y.Drawable(hi) || !std::isfinite(count) ||
            count < 0) {
          continue;
        }
        const double pixels = std::abs(y(hi) - y(lo));
        if (!(pixels > 0)) continue;
        bins.push_back({y(hi), y(lo), count / pixels});
        densest = std::max(densest, count / pixels);
      }
      if (!(densest > 0) || !std::isfinite(densest)) continue;
      // Empty tails would draw as a stalk along the center line, past the axis limits.
      while (bins.back().density == 0) bins.pop_back();
      bins.erase(bins.begin(),
                 std::ranges::find_if(bins, [](const Bin& b) { return b.density > 0; }));
      std::vector<Point> outline;
      for (const Bin& bin : bins) {  // right side, bottom to top
        const double half = max_half * bin.density / densest;
        outline.push_back({cx + half, bin.bottom});
        outline.push_back({cx + half, bin.top});
      }
      for (auto bin = bins.rbegin(); bin != bins.rend(); ++bin) {  // left side, back down
        const double half = max_half * bin->density / densest;
        outline.push_back({cx - half, bin->top});
        outline.push_back({cx - half, bin->bottom});
      }
      svg.Polygon(outline,
                  {.fill = color, .stroke = color, .stroke_width = 1, .fill_opacity = 0.6});
      // Inside: the p10-p90 range, the p25-p75 box and a white median dot.
      const Quantiles q = AsQuantiles(s.data[i]);
      if (y.Drawable(q.p10) && y.Drawable(q.p90)) {
        svg.Line({cx, y(q.p10)}, {cx, y(q.p90)}, {.stroke = kInk, .stroke_width = 1});
      }
      if (y.Drawable(q.p25) && y.Drawable(q.p75)) {
        const double half = std::min(3.0, max_half / 3);
        svg.Rect(cx - half, std::min(y(q.p25), y(q.p75)), 2 * half, std::abs(y(q.p25) - y(q.p75)),
                 {.fill = kInk});
      }
      if (y.Drawable(q.median)) svg.Circle({cx, y(q.median)}, 2.2, {.fill = "#ffffff"});
    }
  }

  void operator()(const HLine& s) const {
    if (!y.Drawable(s.y)) return;
    svg.Line({x(x.lo()), y(s.y)}, {x(x.hi()), y(s.y)},
             {.stroke = color, .stroke_width = 1.2, .dashed = s.dashed});
  }

  void operator()(const VLine& s) const {
    if (!x.Drawable(s.x)) return;
    svg.Line({x(s.x), y(y.lo())}, {x(s.x), y(y.hi())},
             {.stroke = color, .stroke_width = 1.2, .dashed = s.dashed});
  }

  void operator()(const Text& s) const {
    if (!x.Drawable(s.x) || !y.Drawable(s.y)) return;
    svg.Text({x(s.x), y(s.y)}, s.text,
             {.font_size = s.font_size, .anchor = s.anchor, .color = color});
  }

  void operator()(const Grid& s) const {
    const size_t columns = s.x_edges.size() - 1, rows = s.y_edges.size() - 1;
    const auto drawable = [&](size_t row, size_t column) {
      return x.Drawable(s.x_edges[column]) && x.Drawable(s.x_edges[column + 1]) &&
             y.Drawable(s.y_edges[row]) && y.Drawable(s.y_edges[row + 1]) &&
             std::isfinite(s.values[row * columns + column]);
    };
    const auto cell_color = [&](size_t row, size_t column) {
      return MapColor(s.color_map,
                      (s.values[row * columns + column] - s.v_min) / (s.v_max - s.v_min));
    };
    // Each edge's pixel, rounded once as the SVG writes it, so that neighbouring cells share
    // it exactly: an x and a width rounded separately leave hairline gaps, which crisp edges
    // widen into 1-px seams. (Edges that cannot be placed are never used.)
    const auto pixels = [](const AxisMap& axis, const std::vector<double>& edges) {
      std::vector<double> out;
      for (const double e : edges) out.push_back(axis.Drawable(e) ? Snap(axis(e)) : 0);
      return out;
    };
    const std::vector<double> px = pixels(x, s.x_edges), py = pixels(y, s.y_edges);
    // Renderers snap edges to device pixels in their own ways, so each cell also reaches half
    // a pixel under its neighbours drawn after it (the next column, the next row), never into
    // a blank cell. The group's opacity applies to the cells as a whole: overlaps never show.
    const auto toward = [](double from, double to) { return to + (to < from ? -0.5 : 0.5); };
    const auto drawable_next_row = [&](size_t row, size_t column) {
      return row + 1 < rows && drawable(row + 1, column);
    };
    svg.BeginCrispEdges(s.opacity);
    for (size_t row = 0; row < rows; ++row) {
      // Neighbouring cells of one color become one rectangle: large flat regions of a
      // decision surface then cost one element instead of hundreds. (A run also ends where
      // the next row starts or stops being drawn, so that it overlaps that row evenly.)
      for (size_t column = 0; column < columns;) {
        if (!drawable(row, column)) {
          ++column;
          continue;
        }
        const Color fill = cell_color(row, column);
        const bool next_row = drawable_next_row(row, column);
        size_t end = column + 1;
        while (end < columns && drawable(row, end) && cell_color(row, end) == fill &&
               drawable_next_row(row, end) == next_row) {
          ++end;
        }
        const bool next_column = end < columns && drawable(row, end);
        const double x0 = px[column], x1 = px[end], y0 = py[row], y1 = py[row + 1];
        const double x2 = next_column ? toward(x0, x1) : x1;
        const double y2 = next_row ? toward(y0, y1) : y1;
        const auto rect = [&](double xa, double ya, double xb, double yb) {
          svg.Rect(std::min(xa, xb), std::min(ya, yb), std::abs(xb - xa), std::abs(yb - ya),
                   {.fill = fill});
        };
        if (next_column && next_row && !drawable(row + 1, end)) {
          // The corner would reach into the blank cell diagonally across: two strips.
          rect(x0, y0, x2, y1);
          rect(x0, y1, x1, y2);
        } else {
          rect(x0, y0, x2, y2);
        }
        column = end;
      }
    }
    svg.EndGroup();
  }
};

}  // namespace

void DrawSeries(const Series& series, const Color& color, int group, int groups, const AxisMap& x,
                const AxisMap& y, SvgWriter& svg) {
  std::visit(Drawer{color, group, groups, x, y, svg}, series);
}

}  // namespace fanin::plot::internal
