// A figure: a grid of panels laid out so that each column is as wide as its widest
// panel needs (and each row as tall), with plot areas of one size throughout.
#include <algorithm>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "internal.h"
#include "src/atomic_file.h"

namespace fanin::plot {
namespace {

constexpr double kOuter = 8;  // around the whole figure
constexpr double kFigureTitleFont = 15;

}  // namespace

Figure::Figure(FigureOptions options) : options_(std::move(options)) {
  if (options_.rows < 1 || options_.cols < 1 || !(options_.plot_width > 0) ||
      !(options_.plot_height > 0)) {
    throw std::invalid_argument("fanin::plot::Figure: needs rows, cols >= 1 and a plot size > 0");
  }
  axes_.resize(static_cast<size_t>(options_.rows) * static_cast<size_t>(options_.cols));
}

Axes& Figure::At(int row, int col) { return const_cast<Axes&>(std::as_const(*this).At(row, col)); }

const Axes& Figure::At(int row, int col) const {
  if (row < 0 || row >= options_.rows || col < 0 || col >= options_.cols) {
    throw std::out_of_range("fanin::plot::Figure::At(" + std::to_string(row) + ", " +
                            std::to_string(col) + ") is outside the " +
                            std::to_string(options_.rows) + "x" + std::to_string(options_.cols) +
                            " grid");
  }
  return axes_[static_cast<size_t>(row * options_.cols + col)];
}

std::string Figure::ToSvg() const {
  using internal::Panel;
  const double width = options_.plot_width, height = options_.plot_height;
  const auto rows = static_cast<size_t>(options_.rows);
  const auto cols = static_cast<size_t>(options_.cols);
  std::vector<std::optional<Panel>> panels(axes_.size());
  std::vector<double> left(cols), right(cols), top(rows), bottom(rows);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      const Axes& axes = axes_[r * cols + c];
      if (axes.series.empty() && axes.title.empty()) continue;  // an unused cell
      const Panel& panel =
          panels[r * cols + c].emplace(internal::PreparePanel(axes, width, height));
      left[c] = std::max(left[c], panel.left);
      right[c] = std::max(right[c], panel.right);
      top[r] = std::max(top[r], panel.top);
      bottom[r] = std::max(bottom[r], panel.bottom);
    }
  }
  const double title_height = options_.title.empty() ? 0 : kFigureTitleFont + 2 * kOuter;
  const double content_width = std::accumulate(left.begin(), left.end(), 0.0) +
                               std::accumulate(right.begin(), right.end(), 0.0) +
                               static_cast<double>(cols) * width;
  const double figure_width =
      2 * kOuter + std::max(content_width, internal::TextWidth(options_.title, kFigureTitleFont));
  const double figure_height =
      2 * kOuter + title_height + std::accumulate(top.begin(), top.end(), 0.0) +
      std::accumulate(bottom.begin(), bottom.end(), 0.0) + static_cast<double>(rows) * height;

  internal::SvgWriter svg(figure_width, figure_height);
  if (!options_.title.empty()) {
    svg.Text({figure_width / 2, kOuter + kFigureTitleFont}, options_.title,
             {.font_size = kFigureTitleFont, .anchor = Anchor::kMiddle, .bold = true});
  }
  double y = kOuter + title_height;
  for (size_t r = 0; r < rows; ++r) {
    double x = kOuter;
    for (size_t c = 0; c < cols; ++c) {
      if (const auto& panel = panels[r * cols + c]) {
        internal::DrawPanel(*panel, {x + left[c], y + top[r]}, width, height,
                            static_cast<int>(r * cols + c), svg);
      }
      x += left[c] + width + right[c];
    }
    y += top[r] + height + bottom[r];
  }
  return svg.Finish();
}

void Figure::Save(const std::string& path) const {
  fanin::internal::WriteFileAtomically(path, ToSvg());
}

}  // namespace fanin::plot
