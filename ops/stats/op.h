// The statistics' implementation signatures (see ops/dispatch.h); the contracts are in
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

// Called with a checked StatsOut on the tensor's backend. The fused passes of the other ops
// use the same code (ops/stats/cpu.h, the CUDA backend's summary kernels).
struct SummarizeOp {
  static constexpr char kName[] = "Summarize";
  using Fn = void(Backend&, const Tensor& t, const StatsOut& out);
};

}  // namespace fanin::ops::internal
