// Plots as SVG 1.1 text and a small self-contained HTML report, with no dependencies.
//
//   fanin::plot::Figure figure({.rows = 1, .cols = 2, .title = "tanh, glorot_normal"});
//   fanin::plot::Axes& ax = figure.At(0, 0);
//   ax.title = "Gradient ratio";
//   ax.y_scale = fanin::plot::Scale::kLog10;
//   ax.categories = {"h1", "h2", "h3", "h4", "h5", "out"};
//   ax.Add(fanin::plot::Bars{.values = median, .lower = p10, .upper = p90, .label = "30 seeds"});
//   figure.Save("out/ratios.svg");
//
// Data may hold NaN or Inf: such points are skipped (and on a log axis so are values <= 0),
// lines and bands break at them, and an axis with nothing left to draw still renders.
// Categorical x axes place category i at x = i, so lines and bands can run over them too.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace fanin::plot {

// Any SVG/CSS color, e.g. "#1f77b4". An empty color in a series means "the next color of
// the palette", in the order the series were added to their Axes.
using Color = std::string;

// Tableau's 10 qualitative colors (matplotlib's default cycle); i wraps around.
Color PaletteColor(size_t i);

enum class ColorMap {
  kViridis,  // sequential: dark blue (0) to yellow (1)
  kRedBlue,  // diverging: red (0), white (0.5), blue (1), for probabilities
};
// The color of t in [0, 1] (clamped; NaN gives light gray).
Color MapColor(ColorMap map, double t);

enum class Scale { kLinear, kLog10 };

// --- Series: plain structs, added to an Axes with Axes::Add -------------------------------
// Every member has an initializer, even `{}`, so that designated initializers may leave
// any of them out without GCC's -Wextra warning about missing field initializers.

struct Line {
  std::vector<double> x{}, y{};
  std::string label{};  // empty: not in the legend
  Color color{};
  double width = 1.5;
  bool markers = false;
  bool dashed = false;
};

struct Scatter {
  std::vector<double> x{}, y{};
  std::string label{};
  Color color{};
  std::vector<Color> colors{};  // per point; empty: every point in `color`
  double radius = 2.5;
  double opacity = 0.8;
};

// A filled band between two curves over the same x, e.g. a 10th-90th percentile band.
struct Band {
  std::vector<double> x{}, lower{}, upper{};
  std::string label{};
  Color color{};
  double opacity = 0.25;
};

enum class ErrorStyle {
  kWhiskers,  // a vertical line with caps from lower to upper
  kBand,      // a translucent box from lower to upper over the bar's width
};

// One bar per category (needs Axes::categories); several Bars (and Boxes/Violins) series
// on one Axes are drawn side by side within each category. On a log y axis a bar rises
// from the bottom of the plot. lower/upper, when not empty, have one value per bar.
struct Bars {
  std::vector<double> values{}, lower{}, upper{};
  std::string label{};
  Color color{};
  ErrorStyle error_style = ErrorStyle::kWhiskers;
};

// A distribution summarized as five quantiles.
struct Quantiles {
  double p10 = 0, p25 = 0, median = 0, p75 = 0, p90 = 0;
};
// A histogram: counts[i] values in [edges[i], edges[i + 1]). Bins with a non-finite edge
// or a non-finite or negative count are ignored.
struct Histogram {
  std::vector<double> edges{}, counts{};
};
using Distribution = std::variant<Histogram, Quantiles>;

// Quantiles of a histogram, interpolated linearly within bins (NaN when it is empty).
Quantiles QuantilesOf(const Histogram& histogram);
// Quantiles of samples, linearly interpolated like numpy.percentile; non-finite samples
// are ignored (NaN when none is left).
Quantiles QuantilesOf(std::vector<double> samples);
// Appends the point x of a multi-seed summary: the 10th-90th percentile to `band` and the
// median to `median`.
void AppendPercentiles(double x, const Quantiles& q, Band& band, Line& median);

// One box per category: box p25-p75, a line at the median, whiskers to p10 and p90.
// A Histogram is summarized by QuantilesOf.
struct Boxes {
  std::vector<Distribution> data{};  // one per category
  std::string label{};
  Color color{};
};

// One violin per category, its width proportional to the density (each violin scaled to
// its own widest bin), with the p25-p75 box and median inside. Quantiles are drawn as a
// histogram with the 10/25/50/75/90th percentiles as edges (a stepped violin).
struct Violins {
  std::vector<Distribution> data{};  // one per category
  std::string label{};
  Color color{};
};

// Reference lines across the whole plot.
struct HLine {
  double y = 0;
  std::string label{};
  Color color = "#444444";
  bool dashed = true;
};
struct VLine {
  double x = 0;
  std::string label{};
  Color color = "#444444";
  bool dashed = true;
};

enum class Anchor { kStart, kMiddle, kEnd };

// Text at data coordinates (x, y), not clipped to the plot area.
struct Text {
  double x = 0, y = 0;
  std::string text{};
  Color color = "#222222";
  double font_size = 11;
  Anchor anchor = Anchor::kStart;
};

// Colored cells over a rectilinear grid, e.g. a model's probability over a region for a
// decision boundary: cell (i, j) spans [x_edges[j], x_edges[j+1]] x [y_edges[i], y_edges[i+1]]
// and has values[i * (x_edges.size() - 1) + j], mapped by `color_map` from [v_min, v_max]
// onto [0, 1]. Cells with a non-finite value are left blank. Not in the legend.
struct Grid {
  std::vector<double> x_edges{}, y_edges{}, values{};
  double v_min = 0, v_max = 1;
  ColorMap color_map = ColorMap::kRedBlue;
  double opacity = 1;
};

using Series = std::variant<Line, Scatter, Band, Bars, Boxes, Violins, HLine, VLine, Text, Grid>;

enum class LegendPosition { kRight, kBelow, kNone };

// One panel; series are drawn in the order added (Text last, unclipped). Limits left empty
// are taken from the data with a 5% margin, except that bars stand on 0 on a linear axis
// and a Grid fills the plot. ToSvg throws std::invalid_argument on a limit that is not
// finite (or not positive on a log axis) or on inconsistent series (x and y of different
// lengths...), naming the series. An Axes with no series and no title is not drawn, so a
// grid of panels may leave cells empty.
struct Axes {
  std::string title{}, x_label{}, y_label{};
  Scale x_scale = Scale::kLinear, y_scale = Scale::kLinear;
  std::optional<double> x_min{}, x_max{}, y_min{}, y_max{};
  // When not empty, the x axis is categorical (and linear): category i sits at x = i,
  // labelled categories[i], turned by 45 degrees when the labels would collide.
  std::vector<std::string> categories{};
  LegendPosition legend = LegendPosition::kRight;
  std::vector<Series> series{};

  Axes& Add(Series s) {
    series.push_back(std::move(s));
    return *this;
  }
};

struct FigureOptions {
  int rows = 1, cols = 1;
  std::string title{};
  // The size in pixels of each panel's plot area; the figure grows around it to fit the
  // titles, tick labels, axis labels and legends, so nothing is clipped.
  double plot_width = 360, plot_height = 240;
};

class Figure {
 public:
  explicit Figure(FigureOptions options = {});

  // The panel at (row, col); throws std::out_of_range outside the grid.
  Axes& At(int row, int col);
  const Axes& At(int row, int col) const;

  std::string ToSvg() const;
  // Writes the SVG to path + ".tmp", then renames it to `path`; throws std::runtime_error
  // naming the path when that fails.
  void Save(const std::string& path) const;

 private:
  FigureOptions options_;
  std::vector<Axes> axes_;  // row-major
};

// --- Ticks and coordinates: the building blocks, public for tests and custom drawing ------

struct Ticks {
  std::vector<double> values{};
  std::vector<std::string> labels{};
};
// About `target` ticks at multiples of 1, 2 or 5 times a power of ten, within [lo, hi]; at
// least two unless the span is rounding noise (under 1e-12 of the values: one tick).
Ticks LinearTicks(double lo, double hi, int target = 6);
// Ticks at the powers of ten within [lo, hi] (0 < lo < hi), every k-th one when there are
// more than `target`, labelled "0.01", "1", "100" or, beyond that range, "1e-3", "1e6";
// when fewer than two fit, ticks at 1, 2 and 5 times the powers of ten (or linear ones).
Ticks LogTicks(double lo, double hi, int target = 8);

// The scale that shows `values` best: kLog10 when no finite one is negative and the positive
// ones span at least `decades` powers of ten (on a linear axis the small ones would lie flat
// on zero, hiding a vanishing gradient; zeros, which a log axis skips, do not count), else
// kLinear (also when no value is finite and positive).
Scale ScaleFor(const std::vector<double>& values, double decades = 2);

// Maps one axis's data range [lo, hi] onto pixels [pixel_lo, pixel_hi] (pixel_hi < pixel_lo
// for a y axis, which grows downward). Throws std::invalid_argument unless lo < hi are
// finite (and positive on a log scale).
class AxisMap {
 public:
  AxisMap(Scale scale, double lo, double hi, double pixel_lo, double pixel_hi);
  // Whether v can be placed: finite, and positive on a log scale.
  bool Drawable(double v) const;
  // The pixel of a Drawable v (unbounded: values outside [lo, hi] map outside the range).
  double operator()(double v) const;
  Scale scale() const { return scale_; }
  double lo() const { return lo_; }
  double hi() const { return hi_; }

 private:
  Scale scale_;
  double lo_, hi_, pixel_lo_, pixel_hi_;
};

// --- HTML report ---------------------------------------------------------------------------

// A self-contained HTML page (inline CSS, no scripts, nothing fetched from the network):
// blocks appear in the order they are added; all text is HTML-escaped.
class Report {
 public:
  explicit Report(std::string title);

  Report& Heading(const std::string& text, int level = 2);  // level 2..4; 1 is the title
  Report& Paragraph(const std::string& text);
  Report& Preformatted(const std::string& text);  // e.g. the text of verdicts.md
  Report& Link(const std::string& href, const std::string& text);
  // rows[0] is the header row when header_row is true.
  Report& Table(const std::vector<std::vector<std::string>>& rows, bool header_row = true);
  // An image (e.g. an SVG written next to the page) at a path relative to the page.
  Report& Image(const std::string& relative_path, const std::string& caption = "");
  // A block a script fills in (an animation, a player): <div id="ID"> holding `fallback` as
  // a paragraph (what a page without scripts shows), then a <script src> for each path,
  // relative to the page, in order. The scripts are files written next to the page: nothing
  // is fetched from the network.
  Report& Scripted(const std::string& id, const std::vector<std::string>& scripts,
                   const std::string& fallback);

  std::string ToHtml() const;
  // Atomic like Figure::Save.
  void Save(const std::string& path) const;

 private:
  std::string title_;
  std::string body_;  // the blocks, already rendered
};

}  // namespace fanin::plot
