// Declarations shared by the plotting module's source files; not part of the public API.
#pragma once

#include <algorithm>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "fanin/plot.h"

namespace fanin::plot::internal {

// Text safe inside XML/HTML content and quoted attributes: & < > " ' become entities;
// bytes that are not valid UTF-8 and characters XML 1.0 forbids (control characters
// other than tab, newline and carriage return) become U+FFFD.
std::string EscapeXml(std::string_view text);

// An estimate of the rendered width of `text` in a sans-serif font, for layout: we cannot
// measure glyphs without a font library, so margins are sized from per-character classes
// erring wide, which costs some white space but never clips.
double TextWidth(std::string_view text, double font_size);

// Unlabelled ticks at 2..9 times the powers of ten within [lo, hi], when the range spans
// few enough decades for them to be told apart (none otherwise).
std::vector<double> LogMinorTicks(double lo, double hi);

struct Point {
  double x = 0, y = 0;
};

struct Style {
  Color fill = "none";
  Color stroke = "none";
  double stroke_width = 1;
  double fill_opacity = 1;
  bool dashed = false;
};

struct TextStyle {
  double font_size = 11;
  Anchor anchor = Anchor::kStart;
  Color color = "#222222";
  bool bold = false;
  double rotate = 0;  // degrees, about the anchor point
};

// Appends SVG 1.1 elements to a document. Every number goes through one formatter that
// cannot print NaN or Inf, whatever the caller passes, so the output is always parseable.
class SvgWriter {
 public:
  SvgWriter(double width, double height);

  void Rect(double x, double y, double width, double height, const Style& style);
  void Line(Point a, Point b, const Style& style);
  void Polyline(const std::vector<Point>& points, const Style& style);
  void Polygon(const std::vector<Point>& points, const Style& style);
  void Circle(Point center, double radius, const Style& style);
  // (x, y) is the baseline's anchor point.
  void Text(Point at, std::string_view text, const TextStyle& style);

  // Children drawn between BeginClipped and EndGroup are clipped to the rectangle.
  void BeginClipped(int id, double x, double y, double width, double height);
  // Rectangles edge to edge (grid cells) without antialiased seams between them. The group
  // is drawn with `opacity` as a whole, so its children may overlap without showing it.
  void BeginCrispEdges(double opacity = 1);
  void EndGroup();

  // The document, closed.
  std::string Finish();

 private:
  void Points(const std::vector<Point>& points);
  void Attributes(const Style& style);

  std::string out_;
};

// A number for an SVG attribute: two decimals, trailing zeros dropped, clamped to
// +-1e6 (a point far outside the plot is clipped anyway), non-finite values as 0.
std::string Num(double v);
// The value Num writes for v, as a double: shapes that must meet exactly (grid cells) take
// their shared edges from it rather than rounding an x and a width separately.
double Snap(double v);

// One entry of a legend, placed at (x, y) relative to the legend's top-left corner.
struct LegendEntry {
  enum class Swatch { kLine, kMarker, kBox };
  Swatch swatch = Swatch::kBox;
  Color color;
  bool dashed = false;
  bool markers = false;  // a marker on the line swatch
  double fill_opacity = 1;
  std::string label;
  double x = 0, y = 0;
};

// An Axes with everything resolved for drawing: colors, limits, ticks, margins, legend.
struct Panel {
  const Axes* axes = nullptr;
  std::vector<Color> colors;  // per series
  int groups = 0;             // Bars, Boxes and Violins series, drawn side by side
  double x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;
  Ticks x_ticks, y_ticks;
  std::vector<double> x_minor, y_minor;
  bool rotate_x_labels = false;
  // Space around the plot area, in pixels.
  double left = 0, right = 0, top = 0, bottom = 0;
  double x_labels_height = 0;  // of the tick labels under the plot
  double y_labels_width = 0;   // of the widest tick label left of the plot
  std::vector<LegendEntry> legend;
  double legend_width = 0, legend_height = 0;
};

// Resolves `axes` for a plot area of the given size; throws std::invalid_argument on
// inconsistent series (x and y of different lengths...) or limits.
Panel PreparePanel(const Axes& axes, double plot_width, double plot_height);

// Draws a prepared panel whose plot area has its top-left corner at `origin`; `index`
// makes the panel's clip-path id unique within the document.
void DrawPanel(const Panel& panel, Point origin, double plot_width, double plot_height, int index,
               SvgWriter& svg);

// The range of an axis's drawable data values. Sticky values (a Grid's edges, the zero
// bars rise from) get no margin when they end the range, as in matplotlib: a heat map
// fills its plot, bars stand on the axis.
struct Extent {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  double sticky_lo = std::numeric_limits<double>::infinity();
  double sticky_hi = -std::numeric_limits<double>::infinity();
  bool empty() const { return lo > hi; }
  void Add(double v) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  void AddSticky(double v) {
    Add(v);
    sticky_lo = std::min(sticky_lo, v);
    sticky_hi = std::max(sticky_hi, v);
  }
};

// Throws std::invalid_argument when `series` is inconsistent (x and y of different
// lengths, a Grid whose values do not fill it...), naming the series by its label.
void Validate(const Series& series);
// Widens x and y by the drawable values of a validated series.
void AddExtent(const Series& series, Scale x_scale, Scale y_scale, Extent& x, Extent& y);

// A Histogram as is; Quantiles as a histogram whose edges are the five quantiles and whose
// counts are the probability between them.
Histogram AsHistogram(const Distribution& distribution);
// Quantiles as is; a Histogram through QuantilesOf.
Quantiles AsQuantiles(const Distribution& distribution);

// Draws one validated series. `group` is its slot among `groups` side-by-side Bars, Boxes
// and Violins series.
void DrawSeries(const Series& series, const Color& color, int group, int groups, const AxisMap& x,
                const AxisMap& y, SvgWriter& svg);

// The legend entries of `axes`'s labelled series, unplaced.
std::vector<LegendEntry> LegendEntries(const Axes& axes, const std::vector<Color>& colors);
void DrawLegend(const std::vector<LegendEntry>& entries, Point origin, SvgWriter& svg);

// Layout constants shared by the panel layout and the legend.
inline constexpr double kTickFont = 11;
inline constexpr double kLabelFont = 12;
inline constexpr double kTitleFont = 13;
inline constexpr double kLegendFont = 11;
inline constexpr double kLegendRow = 16;
inline constexpr double kLegendSwatch = 18;

}  // namespace fanin::plot::internal
