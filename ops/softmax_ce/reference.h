// The softmax cross-entropy's independent double-precision reference.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

namespace fanin::testing {

// One sample: z its k logits, y its k labels (smoothed already). loss = sum_j y_j (lse - z_j)
// with lse = log sum_j exp(z_j) computed as m + log sum exp(z_j - m); softmax into `p`.
inline double RefSoftmaxCe(const std::vector<double>& z, const std::vector<double>& y,
                           std::vector<double>* p = nullptr) {
  const double m = *std::max_element(z.begin(), z.end());
  double s = 0.0;
  for (const double v : z) s += std::exp(v - m);
  const double lse = m + std::log(s);
  double loss = 0.0;
  for (size_t j = 0; j < z.size(); ++j) loss += y[j] * (lse - z[j]);
  if (p != nullptr) {
    p->resize(z.size());
    for (size_t j = 0; j < z.size(); ++j) (*p)[j] = std::exp(z[j] - lse);
  }
  return loss;
}

}  // namespace fanin::testing
