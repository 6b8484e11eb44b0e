#include "ops/stats/op.h"

#include "fanin/ops.h"
#include "ops/check.h"
#include "ops/dispatch.h"

namespace fanin::ops {

std::vector<TensorStats> Stats(std::span<const Tensor* const> tensors,
                               const HistogramSpec& histogram) {
  internal::CheckHistogram(histogram);
  if (tensors.empty()) return {};
  Backend& backend = internal::OneBackend("Stats", {{"tensor 0", tensors[0]}});
  for (size_t i = 1; i < tensors.size(); ++i) {
    const std::string name = "tensor " + std::to_string(i);
    internal::OneBackend("Stats", {{"tensor 0", tensors[0]}, {name, tensors[i]}});
  }
  return internal::Run<internal::StatsOp>(backend, tensors, histogram);
}

}  // namespace fanin::ops
