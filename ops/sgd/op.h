// The SGD update's implementation signature (see ops/dispatch.h); the contract is in
// fanin/ops.h.
#pragma once

#include "fanin/backend.h"
#include "fanin/ops.h"
#include "fanin/tensor.h"

namespace fanin::ops::internal {

// Called with validated sizes; velocity is null exactly when step.momentum == 0.
struct SgdUpdateOp {
  static constexpr char kName[] = "SgdUpdate";
  using Fn = void(Backend&, const SgdStep& step, Tensor& params, const Tensor& grads,
                  Tensor* velocity, const ParameterStats* stats);
};

}  // namespace fanin::ops::internal
