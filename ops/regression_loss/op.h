// The regression losses' implementation signature (see ops/dispatch.h); the contract is in
// fanin/ops.h.
#pragma once

#include "fanin/backend.h"
#include "fanin/ops.h"
#include "fanin/tensor.h"

namespace fanin::ops::internal {

// Called with validated shapes (output and targets [n x k]); writes totals[0] and totals[1].
struct RegressionLossOp {
  static constexpr char kName[] = "RegressionLoss";
  using Fn = void(Backend&, ErrorKind kind, const Tensor& output, const Tensor& targets,
                  float grad_scale, Tensor* grad, float* totals);
};

}  // namespace fanin::ops::internal
