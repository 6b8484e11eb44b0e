#include "ops/dropout/op.h"

#include <cstdint>
#include <stdexcept>
#include <string>

#include "fanin/ops.h"
#include "ops/check.h"
#include "ops/dispatch.h"
#include "ops/dropout/math.h"

namespace fanin::ops {

void Dropout(const DropoutMask& mask, const Tensor& in, Tensor& out) {
  const char* op = "Dropout";
  Backend& backend = internal::OneBackend(op, {{"in", &in}, {"out", &out}});
  internal::CheckSameSize(op, "in", in, "out", out);
  if (!(mask.rate >= 0.0f && mask.rate < 1.0f)) {
    throw std::invalid_argument(std::string(op) + ": rate " + std::to_string(mask.rate) +
                                " is not in [0, 1)");
  }
  if (in.size() > (int64_t{1} << 32)) {
    throw std::invalid_argument(std::string(op) + ": in " + ShapeToString(in.shape()) +
                                " has more than 2^32 elements, the most a mask counts");
  }
  internal::Run<internal::DropoutOp>(backend, mask, internal::KeepThreshold(mask.rate),
                                     1.0f / (1.0f - mask.rate), in, out);
}

}  // namespace fanin::ops
