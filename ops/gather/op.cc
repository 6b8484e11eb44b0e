#include "ops/gather/op.h"

#include <stdexcept>
#include <string>

#include "fanin/ops.h"
#include "ops/check.h"
#include "ops/dispatch.h"

namespace fanin::ops {

// The indices are checked on the host: an index out of range would be an illegal address on a
// GPU, which poisons the whole CUDA context.
void GatherRows(const Tensor& src, std::span<const int64_t> indices, Tensor& dst) {
  Backend& backend = internal::OneBackend("GatherRows", {{"src", &src}, {"dst", &dst}});
  const auto rows = static_cast<int64_t>(indices.size());
  if (dst.rows() != rows || dst.cols() != src.cols()) {
    throw std::invalid_argument("GatherRows: " + std::to_string(rows) + " rows of " +
                                ShapeToString(src.shape()) + " into " + ShapeToString(dst.shape()));
  }
  for (const int64_t i : indices) {
    if (i < 0 || i >= src.rows()) {
      throw std::out_of_range("GatherRows: index " + std::to_string(i) + " outside " +
                              ShapeToString(src.shape()));
    }
  }
  if (rows == 0) return;
  internal::Run<internal::GatherRowsOp>(backend, src, indices, dst);
}

}  // namespace fanin::ops
