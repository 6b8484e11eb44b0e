// Tests of the plotting module: ticks, coordinates, quantiles, escaping, and that every
// SVG and HTML document it writes is well-formed XML with finite coordinates.
#include "fanin/plot.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_util.h"
#include "xml_util.h"

namespace fanin::plot {
namespace {

using fanin::testing::ReadFile;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// The strict XML parser shared with the study tests.
using ::fanin::testing::Find;
using ::fanin::testing::Node;
using ::fanin::testing::ParseXml;

// Every geometric attribute of every element holds finite numbers.
void ExpectFiniteCoordinates(const Node& node) {
  static const std::vector<std::string> kNumeric = {
      "x",  "y",  "width", "height", "cx",        "cy",           "r",       "x1",
      "y1", "x2", "y2",    "points", "font-size", "stroke-width", "opacity", "fill-opacity"};
  for (const std::string& name : kNumeric) {
    const auto it = node.attributes.find(name);
    if (it == node.attributes.end()) continue;
    std::string numbers = it->second;
    for (char& c : numbers) {
      if (c == ',') c = ' ';
    }
    std::istringstream stream(numbers);
    std::string token;
    while (stream >> token) {
      char* end = nullptr;
      const double v = std::strtod(token.c_str(), &end);
      EXPECT_TRUE(*end == '\0' && std::isfinite(v))
          << "<" << node.name << " " << name << "=\"" << it->second << "\">";
    }
  }
  for (const auto& child : node.children) ExpectFiniteCoordinates(*child);
}

std::string Lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::vector<double> Values(const Ticks& ticks) { return ticks.values; }

// --- The parser itself ----------------------------------------------------------------------

TEST(PlotXmlChecker, RejectsMalformedDocuments) {
  EXPECT_NO_THROW(ParseXml("<?xml version=\"1.0\"?>\n<a b=\"1\"><c/>t &amp; &#60;</a>\n"));
  for (const char* bad : {"<a><b></a></b>", "<a b=1/>", "<a b=\"1\" b=\"2\"/>", "<a>x & y</a>",
                          "<a b=\"<\"/>", "<a>&nbsp;</a>", "<a/><b/>", "<a>", "text<a/>"}) {
    EXPECT_THROW(ParseXml(bad), std::runtime_error) << bad;
  }
}

// --- Ticks and coordinates ------------------------------------------------------------------

TEST(PlotTicks, LinearTicksAreNiceNumbers) {
  const Ticks unit = LinearTicks(0, 1);
  EXPECT_EQ(unit.labels, (std::vector<std::string>{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"}));

  const Ticks mixed = LinearTicks(-3.7, 12.2);
  EXPECT_EQ(mixed.labels, (std::vector<std::string>{"0", "5", "10"}));
  EXPECT_EQ(Values(mixed), (std::vector<double>{0, 5, 10}));

  // Steps of 1, 2 or 5 times a power of ten, all ticks inside the range.
  const Ticks odd = LinearTicks(0.013, 0.087, 5);
  ASSERT_GE(odd.values.size(), 3u);
  for (const double v : odd.values) {
    EXPECT_GE(v, 0.013);
    EXPECT_LE(v, 0.087);
  }
  EXPECT_EQ(odd.labels.front(), "0.02");
  EXPECT_NEAR(odd.values[1] - odd.values[0], 0.02, 1e-12);

  // Very small or very large numbers switch to compact scientific notation.
  EXPECT_EQ(LinearTicks(0, 3e6).labels,
            (std::vector<std::string>{"0", "5e5", "1e6", "1.5e6", "2e6", "2.5e6", "3e6"}));
  EXPECT_EQ(LinearTicks(0.001, 0.0013).labels,
            (std::vector<std::string>{"1e-3", "1.05e-3", "1.1e-3", "1.15e-3", "1.2e-3", "1.25e-3",
                                      "1.3e-3"}));
  // Rounding noise gets one tick (counting steps of 1e-16 from 1 would never end); a span
  // wider than any double gets none; nor do other degenerate inputs.
  EXPECT_EQ(LinearTicks(1, 1 + 2e-16).labels, (std::vector<std::string>{"1"}));
  EXPECT_TRUE(LinearTicks(-1e308, 1e308).values.empty());
  EXPECT_TRUE(LinearTicks(kNaN, 1).values.empty());
  EXPECT_TRUE(LinearTicks(2, 1).values.empty());
}

TEST(PlotTicks, LinearTicksAreAtLeastTwo) {
  // The smallest step of at most 4 intervals is 0.5, which has one multiple in the range:
  // the next smaller step, 0.2, has four.
  const Ticks sigmoid = LinearTicks(0.0001, 0.9999, 4);
  ASSERT_EQ(sigmoid.values.size(), 4u);
  EXPECT_EQ(sigmoid.labels, (std::vector<std::string>{"0.2", "0.4", "0.6", "0.8"}));
  EXPECT_NEAR(sigmoid.values[0], 0.2, 1e-12);
  // Any span wider than rounding noise, whatever the target, gets two ticks or more, all
  // inside it and evenly spaced.
  for (const double lo : {-7.3, -1.0, -0.0001, 0.0, 0.0001, 0.49, 3.0, 1234.5, 1e-9, 2e5}) {
    for (const double width : {1e-6, 0.001, 0.011, 0.3, 0.9998, 1.0, 1.9, 7.0, 99.0, 1e5}) {
      for (const int target : {1, 2, 3, 4, 6, 10}) {
        const double hi = lo + width;
        const Ticks ticks = LinearTicks(lo, hi, target);
        ASSERT_GE(ticks.values.size(), 2u) << lo << " " << hi << " " << target;
        ASSERT_EQ(ticks.labels.size(), ticks.values.size());
        const double step = ticks.values[1] - ticks.values[0];
        // The slack of the ticks' rounding, and the resolution of doubles this large.
        const double tolerance = 1e-9 * step + 1e-14 * std::abs(hi);
        for (size_t i = 0; i < ticks.values.size(); ++i) {
          EXPECT_GE(ticks.values[i], lo - tolerance) << lo << " " << hi << " " << target;
          EXPECT_LE(ticks.values[i], hi + tolerance) << lo << " " << hi << " " << target;
          if (i > 0) {
            EXPECT_NEAR(ticks.values[i] - ticks.values[i - 1], step, tolerance);
            EXPECT_NE(ticks.labels[i], ticks.labels[i - 1]) << lo << " " << hi;
          }
        }
      }
    }
  }
}

TEST(PlotTicks, LogTicksAtDecades) {
  EXPECT_EQ(LogTicks(0.01, 100).labels,
            (std::vector<std::string>{"0.01", "0.1", "1", "10", "100"}));
  const Ticks wide = LogTicks(1.5e-5, 2);
  EXPECT_EQ(wide.labels, (std::vector<std::string>{"1e-4", "1e-3", "1e-2", "1e-1", "1e0"}));
  EXPECT_DOUBLE_EQ(wide.values.front(), 1e-4);
  // Thirty decades: every fifth, at multiples of five.
  const Ticks huge = LogTicks(1e-30, 1e2);
  EXPECT_EQ(huge.labels,
            (std::vector<std::string>{"1e-30", "1e-25", "1e-20", "1e-15", "1e-10", "1e-5", "1e0"}));
  // Under two decades: 1-2-5 steps.
  EXPECT_EQ(LogTicks(2, 50).labels, (std::vector<std::string>{"2", "5", "10", "20", "50"}));
  EXPECT_TRUE(LogTicks(0, 10).values.empty());
  EXPECT_TRUE(LogTicks(-1, 10).values.empty());
}

TEST(PlotTicks, ScaleForGoesLogWhenPositiveValuesSpanDecades) {
  EXPECT_EQ(ScaleFor({1e-6, 0.5, 1}), Scale::kLog10);
  EXPECT_EQ(ScaleFor({0.02, 1}), Scale::kLinear);  // under two decades
  EXPECT_EQ(ScaleFor({0.02, 1}, 1), Scale::kLog10);
  // A gradient that vanished to exactly 0 must not hide the decades of the others.
  EXPECT_EQ(ScaleFor({1e-6, 0, 1}), Scale::kLog10);
  EXPECT_EQ(ScaleFor({0, 0}), Scale::kLinear);
  EXPECT_EQ(ScaleFor({-1e-6, 1}), Scale::kLinear);
  EXPECT_EQ(ScaleFor({1e-6, kNaN, kInf, 1}), Scale::kLog10);  // non-finite ignored
  EXPECT_EQ(ScaleFor({kNaN}), Scale::kLinear);
  EXPECT_EQ(ScaleFor({}), Scale::kLinear);
}

TEST(PlotAxisMap, MapsLinearAndLogCoordinates) {
  const AxisMap x(Scale::kLinear, 0, 10, 50, 150);
  EXPECT_DOUBLE_EQ(x(0), 50);
  EXPECT_DOUBLE_EQ(x(5), 100);
  EXPECT_DOUBLE_EQ(x(10), 150);
  const AxisMap y(Scale::kLinear, -1, 1, 200, 0);  // y grows downward on screen
  EXPECT_DOUBLE_EQ(y(-1), 200);
  EXPECT_DOUBLE_EQ(y(0.5), 50);
  const AxisMap log(Scale::kLog10, 1e-3, 1, 300, 0);
  EXPECT_DOUBLE_EQ(log(1e-3), 300);
  EXPECT_NEAR(log(1e-2), 200, 1e-9);
  EXPECT_NEAR(log(1), 0, 1e-9);
  EXPECT_TRUE(log.Drawable(1e-9));
  EXPECT_FALSE(log.Drawable(0));
  EXPECT_FALSE(log.Drawable(-1));
  EXPECT_FALSE(x.Drawable(kNaN));
  EXPECT_FALSE(x.Drawable(kInf));
  EXPECT_TRUE(x.Drawable(-1));
  EXPECT_THROW(AxisMap(Scale::kLog10, 0, 1, 0, 1), std::invalid_argument);
  EXPECT_THROW(AxisMap(Scale::kLinear, 1, 1, 0, 1), std::invalid_argument);
  EXPECT_THROW(AxisMap(Scale::kLinear, kNaN, 1, 0, 1), std::invalid_argument);
}

// --- Quantiles and colors -------------------------------------------------------------------

TEST(PlotQuantiles, OfSamplesLikeNumpy) {
  // numpy.percentile([1, 2, 3, 4, 5], [10, 25, 50, 75, 90]) = [1.4, 2, 3, 4, 4.6]
  const Quantiles q = QuantilesOf(std::vector<double>{5, kNaN, 1, 4, 2, kInf, 3});
  EXPECT_DOUBLE_EQ(q.p10, 1.4);
  EXPECT_DOUBLE_EQ(q.p25, 2);
  EXPECT_DOUBLE_EQ(q.median, 3);
  EXPECT_DOUBLE_EQ(q.p75, 4);
  EXPECT_DOUBLE_EQ(q.p90, 4.6);
  EXPECT_TRUE(std::isnan(QuantilesOf(std::vector<double>{kNaN}).median));
}

TEST(PlotQuantiles, OfHistogramInterpolateWithinBins) {
  Histogram uniform;
  for (int i = 0; i <= 10; ++i) uniform.edges.push_back(i);
  uniform.counts.assign(10, 7);
  const Quantiles q = QuantilesOf(uniform);
  EXPECT_NEAR(q.p10, 1, 1e-12);
  EXPECT_NEAR(q.median, 5, 1e-12);
  EXPECT_NEAR(q.p90, 9, 1e-12);
  // Invalid bins are ignored; an empty histogram has no quantiles.
  const Quantiles skip = QuantilesOf(Histogram{.edges = {0, 1, kInf, 3}, .counts = {4, 9, kNaN}});
  EXPECT_NEAR(skip.median, 0.5, 1e-12);
  EXPECT_TRUE(std::isnan(QuantilesOf(Histogram{.edges = {0, 1}, .counts = {0}}).median));
}

TEST(PlotColors, PaletteAndMaps) {
  EXPECT_EQ(PaletteColor(0), "#1f77b4");
  EXPECT_EQ(PaletteColor(10), PaletteColor(0));
  EXPECT_EQ(MapColor(ColorMap::kRedBlue, 0.5), "#f7f7f7");
  EXPECT_EQ(MapColor(ColorMap::kRedBlue, -3), MapColor(ColorMap::kRedBlue, 0));
  EXPECT_EQ(MapColor(ColorMap::kViridis, 1), "#fde725");
  EXPECT_EQ(MapColor(ColorMap::kViridis, kNaN), "#d9d9d9");
}

// --- Figures --------------------------------------------------------------------------------

// A figure using every series type, with long category labels and both legend positions.
Figure EverySeriesFigure() {
  Figure figure({.rows = 2, .cols = 2, .title = "Every series"});
  Axes& lines = figure.At(0, 0);
  lines.title = "Lines";
  lines.x_label = "epoch";
  lines.y_label = "loss";
  lines.y_scale = Scale::kLog10;
  lines.Add(Band{.x = {0, 1, 2, 3},
                 .lower = {0.5, 0.2, 0.1, 0.05},
                 .upper = {2, 1, 0.5, 0.3},
                 .label = "p10-p90"});
  lines.Add(Line{.x = {0, 1, 2, 3}, .y = {1, 0.5, 0.2, 0.1}, .label = "median", .markers = true});
  lines.Add(HLine{.y = 0.3, .label = "target"});
  lines.Add(VLine{.x = 2, .dashed = false});
  lines.Add(Text{.x = 2, .y = 1, .text = "note"});

  Axes& bars = figure.At(0, 1);
  bars.title = "Bars";
  bars.categories = {"sigmoid normal(0, 0.01)", "tanh glorot_normal", "relu he_uniform"};
  bars.y_scale = Scale::kLog10;
  bars.legend = LegendPosition::kBelow;
  bars.Add(Bars{
      .values = {1e-3, 0.5, 2}, .lower = {5e-4, 0.3, 1}, .upper = {2e-3, 0.7, 3}, .label = "h1"});
  bars.Add(Bars{.values = {1e-4, 0.4, 1.5},
                .lower = {5e-5, 0.2, 1},
                .upper = {2e-4, 0.6, 2},
                .label = "h2",
                .error_style = ErrorStyle::kBand});

  Axes& distributions = figure.At(1, 0);
  distributions.title = "Distributions";
  distributions.categories = {"h1", "h2"};
  const Histogram histogram{.edges = {-2, -1, 0, 1, 2}, .counts = {1, 5, 5, 1}};
  const Quantiles quantiles{.p10 = -1.5, .p25 = -0.5, .median = 0, .p75 = 0.6, .p90 = 1.4};
  distributions.Add(Violins{.data = {histogram, quantiles}, .label = "violins"});
  distributions.Add(Boxes{.data = {quantiles, histogram}, .label = "boxes"});

  Axes& grid = figure.At(1, 1);
  grid.title = "Decision boundary";
  grid.Add(Grid{
      .x_edges = {0, 1, 2, 3}, .y_edges = {0, 1, 2}, .values = {0.1, 0.1, 0.9, 0.5, kNaN, 0.2}});
  grid.Add(Scatter{.x = {0.5, 1.5, 2.5},
                   .y = {0.5, 1.5, 1},
                   .label = "points",
                   .colors = {"#ff0000", "#00ff00", "#0000ff"}});
  return figure;
}

TEST(PlotFigure, EverySeriesTypeGivesWellFormedSvg) {
  const std::string svg = EverySeriesFigure().ToSvg();
  std::unique_ptr<Node> root;
  ASSERT_NO_THROW(root = ParseXml(svg)) << svg;
  EXPECT_EQ(root->name, "svg");
  EXPECT_EQ(root->attributes.at("xmlns"), "http://www.w3.org/2000/svg");
  ExpectFiniteCoordinates(*root);
  for (const char* element :
       {"polyline", "polygon", "circle", "rect", "line", "text", "clipPath"}) {
    EXPECT_FALSE(Find(*root, element).empty()) << element;
  }
  // Four clipped panels with distinct clip ids.
  const auto clips = Find(*root, "clipPath");
  ASSERT_EQ(clips.size(), 4u);
  EXPECT_NE(clips[0]->attributes.at("id"), clips[1]->attributes.at("id"));
  // Long category labels are turned; every text lies inside the figure.
  EXPECT_NE(svg.find("rotate(-45"), std::string::npos);
  const double width = std::stod(root->attributes.at("width"));
  const double height = std::stod(root->attributes.at("height"));
  for (const Node* text : Find(*root, "text")) {
    EXPECT_GE(std::stod(text->attributes.at("x")), 0) << text->text;
    EXPECT_LE(std::stod(text->attributes.at("x")), width) << text->text;
    EXPECT_GE(std::stod(text->attributes.at("y")), 0) << text->text;
    EXPECT_LE(std::stod(text->attributes.at("y")), height) << text->text;
  }
}

TEST(PlotFigure, LegendSitsOutsideThePlotArea) {
  Figure figure;
  Axes& axes = figure.At(0, 0);
  axes.Add(Line{.x = {0, 1}, .y = {0, 1}, .label = "right legend"});
  const auto root = ParseXml(figure.ToSvg());
  const Node& clip = *Find(*root, "clipPath")[0]->children[0];
  const double plot_right =
      std::stod(clip.attributes.at("x")) + std::stod(clip.attributes.at("width"));
  const double plot_bottom =
      std::stod(clip.attributes.at("y")) + std::stod(clip.attributes.at("height"));
  for (const Node* text : Find(*root, "text")) {
    if (text->text == "right legend") {
      EXPECT_GT(std::stod(text->attributes.at("x")), plot_right);
    }
  }

  axes.legend = LegendPosition::kBelow;
  const auto below = ParseXml(figure.ToSvg());
  bool found = false;
  for (const Node* text : Find(*below, "text")) {
    if (text->text != "right legend") continue;
    found = true;
    EXPECT_GT(std::stod(text->attributes.at("y")), plot_bottom);
  }
  EXPECT_TRUE(found);
}

TEST(PlotFigure, EscapesLabels) {
  const std::string nasty = "a<b & c>\"d\" 'e'";
  Figure figure({.title = nasty});
  Axes& axes = figure.At(0, 0);
  axes.title = nasty;
  axes.x_label = nasty;
  axes.y_label = nasty;
  axes.categories = {nasty};
  axes.Add(Bars{.values = {1}, .label = nasty, .color = "#123456\"/><script>"});
  axes.Add(Text{.x = 0, .y = 0.5, .text = nasty});
  // Invalid UTF-8 and a control character must not break the document either.
  axes.Add(Line{.x = {0}, .y = {0}, .label = "bad \xff\xfe byte \x01 \xc3\xa9"});
  const std::string svg = figure.ToSvg();
  EXPECT_NE(svg.find("a&lt;b &amp; c&gt;&quot;d&quot; &#39;e&#39;"), std::string::npos);
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  std::unique_ptr<Node> root;
  ASSERT_NO_THROW(root = ParseXml(svg));
  int round_trips = 0;
  for (const Node* text : Find(*root, "text")) round_trips += text->text == nasty;
  EXPECT_GE(round_trips, 6);  // figure and panel titles, both labels, category, legend, text
  EXPECT_NE(svg.find("\xc3\xa9"), std::string::npos);  // valid UTF-8 kept as is
}

TEST(PlotFigure, NonFiniteDataNeverReachesTheSvg) {
  Figure figure({.rows = 2, .cols = 2});
  Axes& lines = figure.At(0, 0);
  lines.y_scale = Scale::kLog10;
  lines.x_label = "x";
  lines.Add(Line{.x = {0, 1, kNaN, 3, 4}, .y = {1, -1, 2, kInf, 0}, .markers = true});
  lines.Add(Scatter{.x = {kNaN, kInf, 1}, .y = {1, 1, 0}});
  lines.Add(Band{.x = {0, 1, 2}, .lower = {kNaN, 0, -1}, .upper = {kInf, 1, 2}});
  lines.Add(HLine{.y = kNaN});
  lines.Add(VLine{.x = kInf});
  lines.Add(Text{.x = kNaN, .y = 1, .text = "hidden"});
  Axes& bars = figure.At(0, 1);
  bars.categories = {"a", "b"};
  bars.y_scale = Scale::kLog10;
  bars.Add(Bars{.values = {kNaN, 0}, .lower = {kNaN, -1}, .upper = {kInf, 1}});
  bars.Add(Violins{
      .data = {Histogram{.edges = {kNaN, 1, 2}, .counts = {1, kNaN}}, Quantiles{.p10 = kNaN}}});
  bars.Add(Boxes{.data = {Quantiles{.p10 = kNaN, .median = kInf}, Histogram{}}});
  Axes& grid = figure.At(1, 0);
  grid.title = "missing values";
  grid.Add(Grid{.x_edges = {0, kNaN}, .y_edges = {0, 1}, .values = {kNaN}});
  Axes& empty = figure.At(1, 1);
  empty.title = "no series";
  empty.x_scale = Scale::kLog10;
  empty.y_scale = Scale::kLog10;

  const std::string svg = figure.ToSvg();
  const std::string lower = Lowercase(svg);
  EXPECT_EQ(lower.find("nan"), std::string::npos);
  EXPECT_EQ(lower.find("inf"), std::string::npos);
  std::unique_ptr<Node> root;
  ASSERT_NO_THROW(root = ParseXml(svg));
  ExpectFiniteCoordinates(*root);
  // Axes with nothing drawable still render, with default limits and their ticks.
  EXPECT_EQ(Find(*root, "clipPath").size(), 4u);
  std::vector<std::string> texts;
  for (const Node* text : Find(*root, "text")) texts.push_back(text->text);
  EXPECT_NE(std::find(texts.begin(), texts.end(), "no series"), texts.end());
  EXPECT_NE(std::find(texts.begin(), texts.end(), "10"), texts.end());
}

TEST(PlotFigure, ExtremeDataStillRender) {
  Figure figure({.cols = 3});
  figure.At(0, 0).Add(Line{.x = {0, 1}, .y = {-1e308, 1e308}});
  figure.At(0, 1).y_scale = Scale::kLog10;
  figure.At(0, 1).Add(Line{.x = {0, 1}, .y = {1e-320, 1e308}});
  figure.At(0, 2).Add(Line{.x = {0, 1, 2}, .y = {0.1, 0.1 + 1e-17, 0.1}});  // flat but noisy
  const std::string svg = figure.ToSvg();
  std::unique_ptr<Node> root;
  ASSERT_NO_THROW(root = ParseXml(svg));
  ExpectFiniteCoordinates(*root);
  EXPECT_EQ(Lowercase(svg).find("nan"), std::string::npos);
  EXPECT_EQ(Lowercase(svg).find("inf"), std::string::npos);
}

TEST(PlotFigure, AutomaticLimits) {
  Figure figure;
  Axes& axes = figure.At(0, 0);
  axes.categories = {"a", "b"};
  axes.Add(Bars{.values = {2, 3}});
  const std::string svg = figure.ToSvg();
  // Bars stand on zero, which ends the axis (no margin below a sticky zero).
  const auto root = ParseXml(svg);
  const Node& clip = *Find(*root, "clipPath")[0]->children[0];
  const double plot_bottom =
      std::stod(clip.attributes.at("y")) + std::stod(clip.attributes.at("height"));
  bool zero_at_bottom = false;
  for (const Node* text : Find(*root, "text")) {
    if (text->text == "0") {
      zero_at_bottom =
          std::abs(std::stod(text->attributes.at("y")) - 0.35 * 11 - plot_bottom) < 0.1;
    }
  }
  EXPECT_TRUE(zero_at_bottom) << svg;
}

// Cells over awkward pixel sizes: every cell meets its neighbours with no gap, however
// the x and width of each are rounded, and overlaps only what is drawn after it.
TEST(PlotFigure, GridCellsLeaveNoSeams) {
  constexpr int kColumns = 7, kRows = 6;
  Grid grid{.opacity = 0.6};
  for (int i = 0; i <= kColumns; ++i) grid.x_edges.push_back(-1.3 + 2.9 * i / kColumns);
  for (int i = 0; i <= kRows; ++i) grid.y_edges.push_back(0.07 + 1.1 * i / kRows);
  for (int i = 0; i < kColumns * kRows; ++i) grid.values.push_back((i * 7 % 11) / 10.0);
  grid.values[2 * kColumns + 3] = kNaN;  // a blank cell: nothing reaches into it
  Figure figure({.plot_width = 300, .plot_height = 200});
  figure.At(0, 0).Add(grid);
  const std::string svg = figure.ToSvg();
  EXPECT_EQ(Lowercase(svg).find("nan"), std::string::npos);
  const auto root = ParseXml(svg);
  ExpectFiniteCoordinates(*root);

  const Node* group = nullptr;
  for (const Node* g : Find(*root, "g")) {
    if (g->attributes.count("shape-rendering")) group = g;
  }
  ASSERT_NE(group, nullptr);
  EXPECT_EQ(group->attributes.at("shape-rendering"), "crispEdges");
  // The opacity applies to the group as a whole, so overlapping cells do not darken.
  EXPECT_EQ(group->attributes.at("opacity"), "0.6");
  struct Cell {
    double x0, y0, x1, y1;
  };
  std::vector<Cell> cells;
  for (const auto& rect : group->children) {
    EXPECT_EQ(rect->attributes.count("fill-opacity"), 0u);
    const double x = std::stod(rect->attributes.at("x"));
    const double y = std::stod(rect->attributes.at("y"));
    cells.push_back({x, y, x + std::stod(rect->attributes.at("width")),
                     y + std::stod(rect->attributes.at("height"))});
  }
  // One per cell but the blank one (no two neighbours share a color), and one more: the
  // cell diagonally below the blank one reaches under its two neighbours by two strips.
  EXPECT_EQ(cells.size(), static_cast<size_t>(kColumns * kRows));
  // The plot area, which the grid fills (its edges are sticky).
  const Node& clip = *Find(*root, "clipPath")[0]->children[0];
  const double left = std::stod(clip.attributes.at("x"));
  const double top = std::stod(clip.attributes.at("y"));
  const double right = left + std::stod(clip.attributes.at("width"));
  const double bottom = top + std::stod(clip.attributes.at("height"));
  // Every point of the plot area but the blank cell lies in some cell, and none of the blank
  // one does: sampled every 0.01 pixel, halfway between the hundredths the SVG is written
  // in, along lines across the plot and down it.
  const double blank_x0 = left + (right - left) * 3 / kColumns;
  const double blank_x1 = left + (right - left) * 4 / kColumns;
  const double blank_y0 = bottom - (bottom - top) * 3 / kRows;  // y grows downward
  const double blank_y1 = bottom - (bottom - top) * 2 / kRows;
  int uncovered = 0, covered_blank = 0;
  // Whether (x, y) is in the blank cell, grown by `margin` pixels (0.02: the rounding).
  const auto in_blank = [&](double x, double y, double margin) {
    return x > blank_x0 - margin && x < blank_x1 + margin && y > blank_y0 - margin &&
           y < blank_y1 + margin;
  };
  const auto sample = [&](double x, double y) {
    const bool in = std::ranges::any_of(
        cells, [&](const Cell& c) { return x >= c.x0 && x < c.x1 && y >= c.y0 && y < c.y1; });
    uncovered += !in_blank(x, y, 0.02) && !in;
    covered_blank += in_blank(x, y, -0.02) && in;
  };
  for (double a = 0.005; a < right - left; a += 0.01) {
    for (double b = 0.005; b < bottom - top; b += 1.37) sample(left + a, top + b);
  }
  for (double a = 0.005; a < bottom - top; a += 0.01) {
    for (double b = 0.005; b < right - left; b += 1.37) sample(left + b, top + a);
  }
  EXPECT_EQ(uncovered, 0) << svg;
  EXPECT_EQ(covered_blank, 0) << svg;
  // Nothing reaches past the plot area.
  for (const Cell& c : cells) {
    EXPECT_GE(c.x0, left - 0.01);
    EXPECT_LE(c.x1, right + 0.01);
    EXPECT_GE(c.y0, top - 0.01);
    EXPECT_LE(c.y1, bottom + 0.01);
  }
}

TEST(PlotFigure, RejectsInconsistentData) {
  Figure figure;
  figure.At(0, 0).Add(Line{.x = {1, 2}, .y = {1}, .label = "short"});
  try {
    figure.ToSvg();
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("short"), std::string::npos);
  }
  Figure grid;
  grid.At(0, 0).Add(Grid{.x_edges = {0, 1, 2}, .y_edges = {0, 1}, .values = {1}});
  EXPECT_THROW(grid.ToSvg(), std::invalid_argument);
  Figure limits;
  limits.At(0, 0).y_scale = Scale::kLog10;
  limits.At(0, 0).y_min = 0;
  limits.At(0, 0).title = "t";
  EXPECT_THROW(limits.ToSvg(), std::invalid_argument);
  EXPECT_THROW(Figure({.rows = 0}), std::invalid_argument);
  EXPECT_THROW(figure.At(1, 0), std::out_of_range);
}

TEST(PlotFigure, SaveIsAtomicAndNamesThePathOnFailure) {
  const auto dir =
      std::filesystem::temp_directory_path() /
      ("fanin_plot_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::create_directories(dir);
  const Figure figure = EverySeriesFigure();
  const auto path = dir / "figure.svg";
  figure.Save(path.string());
  EXPECT_EQ(ReadFile(path), figure.ToSvg());
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));

  const std::string missing = (dir / "no" / "such" / "dir" / "figure.svg").string();
  try {
    figure.Save(missing);
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find(missing), std::string::npos) << error.what();
  }
  std::filesystem::remove_all(dir);
}

// --- HTML -----------------------------------------------------------------------------------

TEST(PlotReport, WritesWellFormedSelfContainedHtml) {
  Report report("Study <1> & \"friends\"");
  report.Heading("Figures")
      .Paragraph("Ratios < 1e-3 & more")
      .Image("fig & 1.svg", "Figure <1>")
      .Image("plain.svg")
      .Heading("Numbers", 3)
      .Table({{"config", "ratio"}, {"tanh <glorot>", "0.5"}, {"relu & he", "1.2"}})
      .Table({{"no", "header"}}, /*header_row=*/false)
      .Preformatted("(a) holds: 3 < 5\n(b) fails")
      .Link("ratios.csv", "ratios & more");
  const std::string html = report.ToHtml();
  std::unique_ptr<Node> root;
  ASSERT_NO_THROW(root = ParseXml(html)) << html;
  EXPECT_EQ(root->name, "html");
  EXPECT_EQ(Find(*root, "title")[0]->text, "Study <1> & \"friends\"");
  const auto images = Find(*root, "img");
  ASSERT_EQ(images.size(), 2u);
  EXPECT_EQ(images[0]->attributes.at("src"), "fig & 1.svg");
  EXPECT_EQ(Find(*root, "th").size(), 2u);
  EXPECT_EQ(Find(*root, "td").size(), 6u);
  EXPECT_EQ(Find(*root, "pre")[0]->text, "(a) holds: 3 < 5\n(b) fails");
  // Self-contained: no scripts, nothing fetched from elsewhere.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos);
  EXPECT_THROW(report.Heading("bad", 1), std::invalid_argument);

  const auto path = std::filesystem::temp_directory_path() / "fanin_plot_test_report.html";
  report.Save(path.string());
  EXPECT_EQ(ReadFile(path), html);
  std::filesystem::remove(path);
}

// A scripted block: its fallback text escaped, its scripts local files in order.
TEST(PlotReport, ScriptedBlocksLoadLocalScriptsInOrder) {
  Report report("Replay");
  report.Scripted("replay & co", {"data <1>.js", "player.js"}, "Needs scripts: 1 < 2");
  const std::string html = report.ToHtml();
  std::unique_ptr<Node> root;
  ASSERT_NO_THROW(root = ParseXml(html)) << html;
  const auto divs = Find(*root, "div");
  ASSERT_EQ(divs.size(), 1u);
  EXPECT_EQ(divs[0]->attributes.at("id"), "replay & co");
  EXPECT_EQ(Find(*divs[0], "p")[0]->text, "Needs scripts: 1 < 2");
  const auto scripts = Find(*root, "script");
  ASSERT_EQ(scripts.size(), 2u);
  EXPECT_EQ(scripts[0]->attributes.at("src"), "data <1>.js");
  EXPECT_EQ(scripts[1]->attributes.at("src"), "player.js");
  EXPECT_EQ(html.find("http"), std::string::npos);
}

}  // namespace
}  // namespace fanin::plot
