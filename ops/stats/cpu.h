// The CPU's tensor statistics (ops::Stats for one tensor): vectorized passes
// with the results of the straightforward double-precision loops, independent of threads.
#pragma once

#include <cstdint>

#include "fanin/ops.h"

namespace fanin::ops::internal {

// Statistics of n floats at x (TensorStats semantics of fanin/ops.h).
// counts, min, max and the histogram are exactly those of the scalar reference (and of the
// CUDA backend: same range rule, and bin = min(int((v - lo) * (bins / (hi - lo))), bins - 1)
// in double); mean and std agree with a sequential double-precision sum to double rounding
// (see the .cc). The summation order is fixed, so the same input gives the same bits.
TensorStats ComputeTensorStats(const float* x, int64_t n, const HistogramSpec& histogram);

}  // namespace fanin::ops::internal
