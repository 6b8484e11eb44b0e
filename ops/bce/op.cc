#include "ops/bce/op.h"

#include <stdexcept>
#include <string>

#include "fanin/ops.h"
#include "ops/check.h"
#include "ops/dispatch.h"

namespace fanin::ops {

void BinaryCrossEntropy(BceInput input, const Tensor& output, const Tensor& labels,
                        float grad_scale, Tensor* grad, Tensor& totals, int64_t slot) {
  const char* op = "BinaryCrossEntropy";
  Backend& backend = internal::OneBackend(
      op, {{"output", &output}, {"labels", &labels}, {"grad", grad}, {"totals", &totals}});
  internal::CheckSameSize(op, "output", output, "labels", labels);
  if (grad != nullptr) internal::CheckSameSize(op, "output", output, "grad", *grad);
  if (slot < 0 || 2 * slot + 1 >= totals.size()) {
    throw std::out_of_range(std::string(op) + ": slot " + std::to_string(slot) +
                            " outside totals " + ShapeToString(totals.shape()));
  }
  internal::Run<internal::BinaryCrossEntropyOp>(backend, input, output, labels, grad_scale, grad,
                                                totals.data() + 2 * slot);
}

}  // namespace fanin::ops
