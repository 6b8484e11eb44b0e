// The binary cross-entropy's implementation signature (see ops/dispatch.h); the contract is
// in fanin/ops.h.
#pragma once

#include "fanin/backend.h"
#include "fanin/ops.h"
#include "fanin/tensor.h"

namespace fanin::ops::internal {

// Called with validated shapes; writes totals[0] and totals[1] of the given totals (the
// caller passes the slot's view).
struct BinaryCrossEntropyOp {
  static constexpr char kName[] = "BinaryCrossEntropy";
  using Fn = void(Backend&, BceInput input, float label_smoothing, const Tensor& output,
                  const Tensor& labels, float grad_scale, Tensor* grad, float* totals);
};

// Keras's backend epsilon: probabilities are clipped to [kProbabilityEpsilon, 1 - it].
inline constexpr float kProbabilityEpsilon = 1e-7f;

}  // namespace fanin::ops::internal
