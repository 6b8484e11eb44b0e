// Batch normalization's independent double-precision reference: the training forward per
// column, and the loss sum_ij w_ij y_ij whose gradient the backward is checked against.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace fanin::testing {

struct RefBatchNorm {
  std::vector<double> xhat, y, mean, var;
};

// x row-major [n x k].
inline RefBatchNorm RefBatchNormTrain(const std::vector<double>& x, int64_t n, int64_t k,
                                      const std::vector<double>& gamma,
                                      const std::vector<double>& beta, double epsilon) {
  RefBatchNorm r{std::vector<double>(x.size()), std::vector<double>(x.size()),
                 std::vector<double>(k, 0.0), std::vector<double>(k, 0.0)};
  for (int64_t j = 0; j < k; ++j) {
    for (int64_t i = 0; i < n; ++i) r.mean[j] += x[i * k + j];
    r.mean[j] /= static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i) {
      r.var[j] += (x[i * k + j] - r.mean[j]) * (x[i * k + j] - r.mean[j]);
    }
    r.var[j] /= static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i) {
      const double v = (x[i * k + j] - r.mean[j]) / std::sqrt(r.var[j] + epsilon);
      r.xhat[i * k + j] = v;
      r.y[i * k + j] = gamma[j] * v + beta[j];
    }
  }
  return r;
}

}  // namespace fanin::testing
