// The activation ops' implementation signatures (see ops/dispatch.h); the contract is in
// fanin/ops.h, the math of each activation in ops/activation/math.h.
#pragma once

#include "fanin/activation.h"
#include "fanin/backend.h"
#include "fanin/ops.h"
#include "fanin/tensor.h"

namespace fanin::ops::internal {

// Each is called with validated shapes (possibly empty).
struct BiasActivationForwardOp {
  static constexpr char kName[] = "BiasActivationForward";
  using Fn = void(Backend&, ActivationSpec act, const Tensor& bias, Tensor& z, Tensor& a,
                  const ForwardStats* stats);
};
struct ActivationForwardOp {
  static constexpr char kName[] = "ActivationForward";
  using Fn = void(Backend&, ActivationSpec act, const Tensor& z, Tensor& a,
                  const ForwardStats* stats);
};
struct ActivationBackwardOp {
  static constexpr char kName[] = "ActivationBackward";
  using Fn = void(Backend&, ActivationSpec act, const Tensor& z, const Tensor& a, const Tensor& da,
                  Tensor& dz, Tensor* bias_grad);
};

}  // namespace fanin::ops::internal
