// The binary cross-entropy's independent double-precision reference.
#pragma once

#include <cmath>

namespace fanin::testing {

// Per-sample BCE from a logit z, y possibly soft: -y log s(z) - (1-y) log(1-s(z)), in
// the overflow-free form (log s(z) = -log1p(exp(-z)) for z >= 0, z - log1p(exp(z)) else).
inline double RefBceLogit(double z, double y) {
  const double log_s = z >= 0 ? -std::log1p(std::exp(-z)) : z - std::log1p(std::exp(z));
  const double log_1ms = z >= 0 ? -z - std::log1p(std::exp(-z)) : -std::log1p(std::exp(z));
  return -y * log_s - (1.0 - y) * log_1ms;
}

// Per-sample BCE from a probability, unclipped (callers keep p inside (0, 1)).
inline double RefBceProbability(double p, double y) {
  return -y * std::log(p) - (1.0 - y) * std::log(1.0 - p);
}

}  // namespace fanin::testing
