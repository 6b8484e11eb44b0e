// The Adam update's implementation signature (see ops/dispatch.h); the contract is in
// fanin/ops.h.
#pragma once

#include "fanin/backend.h"
#include "fanin/ops.h"
#include "fanin/tensor.h"

namespace fanin::ops::internal {

// Called with validated sizes.
struct AdamUpdateOp {
  static constexpr char kName[] = "AdamUpdate";
  using Fn = void(Backend&, const AdamStep& step, Tensor& params, const Tensor& grads, Tensor& m,
                  Tensor& v, const ParameterStats* stats);
};

}  // namespace fanin::ops::internal
