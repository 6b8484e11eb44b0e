// The regression losses' independent double-precision reference.
#pragma once

#include <cmath>
#include <vector>

namespace fanin::testing {

// One sample's mean squared and mean absolute error over its k outputs.
struct RefErrors {
  double squared, absolute;
};
inline RefErrors RefRegressionErrors(const std::vector<double>& o, const std::vector<double>& y) {
  RefErrors e{0.0, 0.0};
  for (size_t j = 0; j < o.size(); ++j) {
    const double d = o[j] - y[j];
    e.squared += d * d;
    e.absolute += std::fabs(d);
  }
  e.squared /= static_cast<double>(o.size());
  e.absolute /= static_cast<double>(o.size());
  return e;
}

}  // namespace fanin::testing
