// The row gather's implementation signature (see ops/dispatch.h); the contract is in
// fanin/ops.h.
#pragma once

#include <cstdint>
#include <span>

#include "fanin/backend.h"
#include "fanin/tensor.h"

namespace fanin::ops::internal {

// Called with validated shapes, every index in range, and at least one index.
struct GatherRowsOp {
  static constexpr char kName[] = "GatherRows";
  using Fn = void(Backend&, const Tensor& src, std::span<const int64_t> indices, Tensor& dst);
};

}  // namespace fanin::ops::internal
