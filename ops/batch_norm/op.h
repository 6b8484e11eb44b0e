// Batch normalization's implementation signatures (see ops/dispatch.h); the contracts are in
// fanin/ops.h.
#pragma once

#include "fanin/backend.h"
#include "fanin/ops.h"
#include "fanin/tensor.h"

namespace fanin::ops::internal {

// Called with validated shapes.
struct BatchNormForwardOp {
  static constexpr char kName[] = "BatchNormForward";
  using Fn = void(Backend&, const BatchNormSpec& spec, bool training, const Tensor& x,
                  const Tensor& gamma, const Tensor& beta, Tensor& moving_mean, Tensor& moving_var,
                  Tensor& xhat, Tensor& y, Tensor& inv_std);
};

struct BatchNormBackwardOp {
  static constexpr char kName[] = "BatchNormBackward";
  using Fn = void(Backend&, const Tensor& dy, const Tensor& xhat, const Tensor& gamma,
                  const Tensor& inv_std, Tensor& dgamma, Tensor& dbeta, Tensor* dx);
};

}  // namespace fanin::ops::internal
