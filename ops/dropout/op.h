// Dropout's implementation signature (see ops/dispatch.h); the contract is in fanin/ops.h.
#pragma once

#include <cstdint>

#include "fanin/backend.h"
#include "fanin/ops.h"
#include "fanin/tensor.h"

namespace fanin::ops::internal {

// Called with validated arguments; threshold = KeepThreshold(mask.rate), scale = 1 / (1 - rate).
struct DropoutOp {
  static constexpr char kName[] = "Dropout";
  using Fn = void(Backend&, const DropoutMask& mask, uint32_t threshold, float scale,
                  const Tensor& in, Tensor& out);
};

}  // namespace fanin::ops::internal
