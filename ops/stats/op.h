// The statistics' implementation signature (see ops/dispatch.h); the contract is in
// fanin/ops.h.
#pragma once

#include <span>
#include <vector>

#include "fanin/backend.h"
#include "fanin/ops.h"
#include "fanin/tensor.h"

namespace fanin::ops::internal {

// Called with a valid histogram spec and tensors all on the backend.
struct StatsOp {
  static constexpr char kName[] = "Stats";
  using Fn = std::vector<TensorStats>(Backend&, std::span<const Tensor* const> tensors,
                                      const HistogramSpec& histogram);
};

}  // namespace fanin::ops::internal
