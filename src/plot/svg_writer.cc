// The SVG writer: elements, attributes and numbers, so no other file formats XML by hand.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include "internal.h"

namespace fanin::plot::internal {

double Snap(double v) {
  if (!std::isfinite(v)) return 0;  // never reached by the drawing code, which skips them
  return std::round(std::clamp(v, -1e6, 1e6) * 100) / 100;
}

std::string Num(double v) {
  char buffer[32];
  // to_chars, unlike printf, ignores the locale: a decimal comma would break the SVG.
  const auto result =
      std::to_chars(buffer, buffer + sizeof buffer, Snap(v), std::chars_format::fixed, 2);
  std::string text(buffer, result.ptr);
  text.erase(text.find_last_not_of('0') + 1);
  if (text.back() == '.') text.pop_back();
  if (text == "-0") text = "0";
  return text;
}

SvgWriter::SvgWriter(double width, double height) {
  out_ = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out_ += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" + Num(width) +
          "\" height=\"" + Num(height) + "\" viewBox=\"0 0 " + Num(width) + " " + Num(height) +
          "\" font-family=\"DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif\">\n";
  Rect(0, 0, width, height, {.fill = "#ffffff"});
}

void SvgWriter::Attributes(const Style& style) {
  out_ += " fill=\"" + EscapeXml(style.fill) + "\"";
  if (style.fill_opacity != 1) out_ += " fill-opacity=\"" + Num(style.fill_opacity) + "\"";
  if (style.stroke != "none") {
    out_ += " stroke=\"" + EscapeXml(style.stroke) + "\" stroke-width=\"" +
            Num(style.stroke_width) + "\"";
    if (style.dashed) out_ += " stroke-dasharray=\"5 3\"";
  }
}

void SvgWriter::Points(const std::vector<Point>& points) {
  out_ += " points=\"";
  for (size_t i = 0; i < points.size(); ++i) {
    if (i > 0) out_ += ' ';
    out_ += Num(points[i].x) + "," + Num(points[i].y);
  }
  out_ += "\"";
}

void SvgWriter::Rect(double x, double y, double width, double height, const Style& style) {
  out_ += "<rect x=\"" + Num(x) + "\" y=\"" + Num(y) + "\" width=\"" + Num(std::max(0.0, width)) +
          "\" height=\"" + Num(std::max(0.0, height)) + "\"";
  Attributes(style);
  out_ += "/>\n";
}

void SvgWriter::Line(Point a, Point b, const Style& style) {
  out_ += "<line x1=\"" + Num(a.x) + "\" y1=\"" + Num(a.y) + "\" x2=\"" + Num(b.x) + "\" y2=\"" +
          Num(b.y) + "\"";
  Attributes(style);
  out_ += "/>\n";
}

void SvgWriter::Polyline(const std::vector<Point>& points, const Style& style) {
  out_ += "<polyline";
  Points(points);
  Attributes(style);
  out_ += " stroke-linejoin=\"round\"/>\n";
}

void SvgWriter::Polygon(const std::vector<Point>& points, const Style& style) {
  out_ += "<polygon";
  Points(points);
  Attributes(style);
  out_ += "/>\n";
}

void SvgWriter::Circle(Point center, double radius, const Style& style) {
  out_ +=
      "<circle cx=\"" + Num(center.x) + "\" cy=\"" + Num(center.y) + "\" r=\"" + Num(radius) + "\"";
  Attributes(style);
  out_ += "/>\n";
}

void SvgWriter::Text(Point at, std::string_view text, const TextStyle& style) {
  static constexpr const char* kAnchors[] = {"start", "middle", "end"};
  out_ += "<text x=\"" + Num(at.x) + "\" y=\"" + Num(at.y) + "\" font-size=\"" +
          Num(style.font_size) + "\" fill=\"" + EscapeXml(style.color) + "\"";
  if (style.anchor != Anchor::kStart) {
    out_ += std::string(" text-anchor=\"") + kAnchors[static_cast<int>(style.anchor)] + "\"";
  }
  if (style.bold) out_ += " font-weight=\"bold\"";
  if (style.rotate != 0) {
    out_ += " transform=\"rotate(" + Num(style.rotate) + " " + Num(at.x) + " " + Num(at.y) + ")\"";
  }
  out_ += '>';
  out_ += EscapeXml(text);
  out_ += "</text>\n";
}

void SvgWriter::BeginClipped(int id, double x, double y, double width, double height) {
  const std::string name = "fanin-clip-" + std::to_string(id);
  out_ += "<defs><clipPath id=\"" + name + "\">";
  Rect(x, y, width, height, {});
  out_ += "</clipPath></defs>\n<g clip-path=\"url(#" + name + ")\">\n";
}

void SvgWriter::BeginCrispEdges(double opacity) {
  out_ += "<g shape-rendering=\"crispEdges\"";
  if (opacity != 1) out_ += " opacity=\"" + Num(opacity) + "\"";
  out_ += ">\n";
}

void SvgWriter::EndGroup() { out_ += "</g>\n"; }

std::string SvgWriter::Finish() {
  out_ += "</svg>\n";
  return std::move(out_);
}

}  // namespace fanin::plot::internal
