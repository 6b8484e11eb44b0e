// Text width estimates for layout (see TextWidth in internal.h).
#include <string_view>

#include "internal.h"

namespace fanin::plot::internal {

double TextWidth(std::string_view text, double font_size) {
  // Widths in ems of DejaVu Sans, the widest of the usual sans-serif fonts, by class.
  static constexpr std::string_view kNarrow = "iIjl.,:;'|!()[]{} ";
  static constexpr std::string_view kWide = "mwMW@%";
  double ems = 0;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte & 0xC0) == 0x80) continue;  // a UTF-8 continuation byte: same character
    if (kNarrow.find(c) != std::string_view::npos) {
      ems += 0.34;
    } else if (kWide.find(c) != std::string_view::npos) {
      ems += 0.95;
    } else if (c >= 'A' && c <= 'Z') {
      ems += 0.72;
    } else {
      ems += 0.62;
    }
  }
  return ems * font_size;
}

}  // namespace fanin::plot::internal
