// One sample of the regression losses, shared by the CPU loop and the CUDA kernel so that the
// formulas are written once. With d_j = o_j - y_j over the sample's k outputs:
//   squared:  loss mean_j d_j^2, dloss/do_j = 2 d_j / k;    metric mean_j |d_j|
//   absolute: loss mean_j |d_j|, dloss/do_j = sign(d_j) / k; metric mean_j d_j^2
// sign(0) = 0, as TensorFlow's and PyTorch's |x| gradient. Sums over j in double.
#pragma once

#include <math.h>  // fabsf

#include <cstdint>

#include "fanin/ops.h"
#include "ops/host_device.h"

namespace fanin::ops::internal {

struct SampleErrors {
  double loss, metric;
};

template <ErrorKind kKind>
FANIN_HD SampleErrors RegressionSample(const float* o, const float* y, int64_t k, float grad_scale,
                                       float* g) {
  double squared = 0.0, absolute = 0.0;
  const float per_output = grad_scale / static_cast<float>(k);
  for (int64_t j = 0; j < k; ++j) {
    const float d = o[j] - y[j];
    squared += static_cast<double>(d) * d;
    absolute += fabsf(d);
    if (g != nullptr) {
      if constexpr (kKind == ErrorKind::kSquared) {
        g[j] = 2.0f * d * per_output;
      } else {
        g[j] = d > 0.0f ? per_output : (d < 0.0f ? -per_output : (d == d ? 0.0f : d));
      }
    }
  }
  const double mean_squared = squared / static_cast<double>(k);
  const double mean_absolute = absolute / static_cast<double>(k);
  return kKind == ErrorKind::kSquared ? SampleErrors{mean_squared, mean_absolute}
                                      : SampleErrors{mean_absolute, mean_squared};
}

}  // namespace fanin::ops::internal
