// What each kind of series requires of its data, and the part of the plane it covers:
// the automatic axis limits are the union of these extents.
#include <cmath>
#include <stdexcept>
#include <string>
#include <variant>

#include "internal.h"

namespace fanin::plot::internal {
namespace {

bool Drawable(Scale scale, double v) {
  return std::isfinite(v) && (scale == Scale::kLinear || v > 0);
}

void RequireSize(const char* kind, const std::string& label, const char* what, size_t size,
                 size_t expected) {
  if (size == expected) return;
  throw std::invalid_argument("fanin::plot: " + std::string(kind) + " '" + label + "' has " +
                              std::to_string(size) + " " + what + " values, expected " +
                              std::to_string(expected));
}

struct Validator {
  void operator()(const Line& s) const {
    RequireSize("Line", s.label, "y", s.y.size(), s.x.size());
  }
  void operator()(const Scatter& s) const {
    RequireSize("Scatter", s.label, "y", s.y.size(), s.x.size());
    if (!s.colors.empty()) RequireSize("Scatter", s.label, "color", s.colors.size(), s.x.size());
  }
  void operator()(const Band& s) const {
    RequireSize("Band", s.label, "lower", s.lower.size(), s.x.size());
    RequireSize("Band", s.label, "upper", s.upper.size(), s.x.size());
  }
  void operator()(const Bars& s) const {
    if (!s.lower.empty()) RequireSize("Bars", s.label, "lower", s.lower.size(), s.values.size());
    if (!s.upper.empty()) RequireSize("Bars", s.label, "upper", s.upper.size(), s.values.size());
    if (s.lower.empty() != s.upper.empty()) {
      throw std::invalid_argument("fanin::plot: Bars '" + s.label +
                                  "' needs both lower and upper, or neither");
    }
  }
  void operator()(const Boxes&) const {}
  void operator()(const Violins&) const {}
  void operator()(const HLine&) const {}
  void operator()(const VLine&) const {}
  void operator()(const Text&) const {}
  void operator()(const Grid& s) const {
    if (s.x_edges.size() < 2 || s.y_edges.size() < 2) {
      throw std::invalid_argument("fanin::plot: a Grid needs at least two edges per axis");
    }
    const size_t cells = (s.x_edges.size() - 1) * (s.y_edges.size() - 1);
    if (s.values.size() != cells) {
      throw std::invalid_argument("fanin::plot: a Grid of " + std::to_string(cells) +
                                  " cells has " + std::to_string(s.values.size()) + " values");
    }
  }
};

struct ExtentAdder {
  Scale x_scale, y_scale;
  Extent& x;
  Extent& y;

  void AddX(double v) const {
    if (Drawable(x_scale, v)) x.Add(v);
  }
  void AddY(double v) const {
    if (Drawable(y_scale, v)) y.Add(v);
  }
  // A point counts only when both coordinates can be drawn, as in the drawing code.
  void AddPoint(double px, double py) const {
    if (Drawable(x_scale, px) && Drawable(y_scale, py)) {
      x.Add(px);
      y.Add(py);
    }
  }
  // Category i spans [i - 0.5, i + 0.5].
  void AddCategory(size_t i) const {
    AddX(static_cast<double>(i) - 0.5);
    AddX(static_cast<double>(i) + 0.5);
  }

  void operator()(const Line& s) const {
    for (size_t i = 0; i < s.x.size(); ++i) AddPoint(s.x[i], s.y[i]);
  }
  void operator()(const Scatter& s) const {
    for (size_t i = 0; i < s.x.size(); ++i) AddPoint(s.x[i], s.y[i]);
  }
  void operator()(const Band& s) const {
    for (size_t i = 0; i < s.x.size(); ++i) {
      AddPoint(s.x[i], s.lower[i]);
      AddPoint(s.x[i], s.upper[i]);
    }
  }
  void operator()(const Bars& s) const {
    for (size_t i = 0; i < s.values.size(); ++i) {
      AddCategory(i);
      AddY(s.values[i]);
      if (!s.lower.empty()) {
        AddY(s.lower[i]);
        AddY(s.upper[i]);
      }
    }
    if (!s.values.empty() && y_scale == Scale::kLinear) y.AddSticky(0);  // bars rise from 0
  }
  void operator()(const Boxes& s) const {
    for (size_t i = 0; i < s.data.size(); ++i) {
      AddCategory(i);
      const Quantiles q = AsQuantiles(s.data[i]);
      for (const double v : {q.p10, q.p25, q.median, q.p75, q.p90}) AddY(v);
    }
  }
  void operator()(const Violins& s) const {
    for (size_t i = 0; i < s.data.size(); ++i) {
      AddCategory(i);
      const Histogram h = AsHistogram(s.data[i]);
      for (size_t b = 0; b + 1 < h.edges.size() && b < h.counts.size(); ++b) {
        if (h.counts[b] > 0 && std::isfinite(h.counts[b]) && Drawable(y_scale, h.edges[b]) &&
            Drawable(y_scale, h.edges[b + 1])) {
          y.Add(h.edges[b]);
          y.Add(h.edges[b + 1]);
        }
      }
    }
  }
  void operator()(const HLine& s) const { AddY(s.y); }
  void operator()(const VLine& s) const { AddX(s.x); }
  void operator()(const Text& s) const { AddPoint(s.x, s.y); }
  void operator()(const Grid& s) const {
    for (const double v : s.x_edges) {
      if (Drawable(x_scale, v)) x.AddSticky(v);
    }
    for (const double v : s.y_edges) {
      if (Drawable(y_scale, v)) y.AddSticky(v);
    }
  }
};

}  // namespace

void Validate(const Series& series) { std::visit(Validator{}, series); }

void AddExtent(const Series& series, Scale x_scale, Scale y_scale, Extent& x, Extent& y) {
  std::visit(ExtentAdder{x_scale, y_scale, x, y}, series);
}

Histogram AsHistogram(const Distribution& distribution) {
  if (const auto* histogram = std::get_if<Histogram>(&distribution)) return *histogram;
  const auto& q = std::get<Quantiles>(distribution);
  return {.edges = {q.p10, q.p25, q.median, q.p75, q.p90}, .counts = {0.15, 0.25, 0.25, 0.15}};
}

Quantiles AsQuantiles(const Distribution& distribution) {
  if (const auto* quantiles = std::get_if<Quantiles>(&distribution)) return *quantiles;
  return QuantilesOf(std::get<Histogram>(distribution));
}

}  // namespace fanin::plot::internal
