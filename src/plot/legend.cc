// Legends: one entry per labelled series, drawn outside the plot area (the panel layout
// places them right of or below it) so they never hide data.
#include <algorithm>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "internal.h"

namespace fanin::plot::internal {
namespace {

using Swatch = LegendEntry::Swatch;

struct EntryMaker {
  const Color& color;

  std::optional<LegendEntry> Entry(const std::string& label, Swatch swatch) const {
    if (label.empty()) return std::nullopt;
    return LegendEntry{.swatch = swatch, .color = color, .label = label};
  }
  std::optional<LegendEntry> operator()(const Line& s) const {
    auto entry = Entry(s.label, Swatch::kLine);
    if (entry) {
      entry->dashed = s.dashed;
      entry->markers = s.markers;
    }
    return entry;
  }
  std::optional<LegendEntry> operator()(const Scatter& s) const {
    return Entry(s.label, Swatch::kMarker);
  }
  std::optional<LegendEntry> operator()(const Band& s) const {
    auto entry = Entry(s.label, Swatch::kBox);
    if (entry) entry->fill_opacity = s.opacity;
    return entry;
  }
  std::optional<LegendEntry> operator()(const Bars& s) const {
    return Entry(s.label, Swatch::kBox);
  }
  std::optional<LegendEntry> operator()(const Boxes& s) const {
    return Entry(s.label, Swatch::kBox);
  }
  std::optional<LegendEntry> operator()(const Violins& s) const {
    return Entry(s.label, Swatch::kBox);
  }
  std::optional<LegendEntry> operator()(const HLine& s) const {
    auto entry = Entry(s.label, Swatch::kLine);
    if (entry) entry->dashed = s.dashed;
    return entry;
  }
  std::optional<LegendEntry> operator()(const VLine& s) const {
    auto entry = Entry(s.label, Swatch::kLine);
    if (entry) entry->dashed = s.dashed;
    return entry;
  }
  std::optional<LegendEntry> operator()(const Text&) const { return std::nullopt; }
  std::optional<LegendEntry> operator()(const Grid&) const { return std::nullopt; }
};

}  // namespace

std::vector<LegendEntry> LegendEntries(const Axes& axes, const std::vector<Color>& colors) {
  std::vector<LegendEntry> entries;
  for (size_t i = 0; i < axes.series.size(); ++i) {
    if (auto entry = std::visit(EntryMaker{colors[i]}, axes.series[i])) {
      entries.push_back(std::move(*entry));
    }
  }
  return entries;
}

void DrawLegend(const std::vector<LegendEntry>& entries, Point origin, SvgWriter& svg) {
  for (const LegendEntry& entry : entries) {
    const double left = origin.x + entry.x;
    const double middle = origin.y + entry.y + kLegendRow / 2;
    switch (entry.swatch) {
      case Swatch::kLine:
        svg.Line({left, middle}, {left + kLegendSwatch, middle},
                 {.stroke = entry.color, .stroke_width = 2, .dashed = entry.dashed});
        if (entry.markers) {
          svg.Circle({left + kLegendSwatch / 2, middle}, 2.5, {.fill = entry.color});
        }
        break;
      case Swatch::kMarker:
        svg.Circle({left + kLegendSwatch / 2, middle}, 3.5, {.fill = entry.color});
        break;
      case Swatch::kBox:
        svg.Rect(left + 2, middle - 5, kLegendSwatch - 4, 10,
                 {.fill = entry.color,
                  .stroke = entry.color,
                  .stroke_width = 0.8,
                  .fill_opacity = std::max(entry.fill_opacity, 0.25)});
        break;
    }
    svg.Text({left + kLegendSwatch + 6, middle + 0.35 * kLegendFont}, entry.label,
             {.font_size = kLegendFont});
  }
}

}  // namespace fanin::plot::internal
