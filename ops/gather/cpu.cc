// The row gather on the CPU.
#include <cstring>

#include "cpu/cpu_backend.h"
#include "ops/dispatch.h"
#include "ops/gather/op.h"

namespace fanin::ops::internal {
namespace {

void GatherRows(Backend&, const Tensor& src, std::span<const int64_t> indices, Tensor& dst) {
  const int64_t cols = src.cols();
  for (size_t r = 0; r < indices.size(); ++r) {
    std::memcpy(dst.data() + static_cast<int64_t>(r) * cols, src.data() + indices[r] * cols,
                static_cast<size_t>(cols) * sizeof(float));
  }
}

const bool kRegistered = Kernels<GatherRowsOp>::Register<CpuBackend>(GatherRows);

}  // namespace
}  // namespace fanin::ops::internal
