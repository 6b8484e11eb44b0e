// The dense forward's implementation signature (see ops/dispatch.h); the contract is in
// fanin/ops.h.
#pragma once

#include "fanin/activation.h"
#include "fanin/backend.h"
#include "fanin/ops.h"
#include "fanin/tensor.h"

namespace fanin::ops::internal {

// Called with conforming shapes and z not empty.
struct DenseForwardOp {
  static constexpr char kName[] = "DenseForward";
  using Fn = void(Backend&, const Tensor& x, const Tensor& w, const Tensor& bias,
                  ActivationSpec act, Tensor& z, Tensor& a, const ForwardStats* stats);
};

}  // namespace fanin::ops::internal
