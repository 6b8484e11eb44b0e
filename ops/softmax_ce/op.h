// The softmax cross-entropy's implementation signature (see ops/dispatch.h); the contract is
// in fanin/ops.h.
#pragma once

#include "fanin/backend.h"
#include "fanin/ops.h"
#include "fanin/tensor.h"

namespace fanin::ops::internal {

// Called with validated shapes (logits [n x k], labels [n x k] or [n x 1] by labels_kind);
// writes totals[0] and totals[1].
struct SoftmaxCrossEntropyOp {
  static constexpr char kName[] = "SoftmaxCrossEntropy";
  using Fn = void(Backend&, ClassLabels labels_kind, float label_smoothing, const Tensor& logits,
                  const Tensor& labels, float grad_scale, Tensor* grad, float* totals);
};

struct SoftmaxOp {
  static constexpr char kName[] = "Softmax";
  using Fn = void(Backend&, Tensor& z);
};

}  // namespace fanin::ops::internal
