#include "ops/bce/op.h"

#include "fanin/ops.h"
#include "ops/check.h"
#include "ops/dispatch.h"

namespace fanin::ops {

void BinaryCrossEntropy(BceInput input, float label_smoothing, const Tensor& output,
                        const Tensor& labels, float grad_scale, Tensor* grad, Tensor& totals,
                        int64_t slot) {
  const char* op = "BinaryCrossEntropy";
  Backend& backend = internal::OneBackend(
      op, {{"output", &output}, {"labels", &labels}, {"grad", grad}, {"totals", &totals}});
  internal::CheckSameSize(op, "output", output, "labels", labels);
  internal::CheckLossArgs(op, output, grad, totals, slot, label_smoothing);
  internal::Run<internal::BinaryCrossEntropyOp>(backend, input, label_smoothing, output, labels,
                                                grad_scale, grad, totals.data() + 2 * slot);
}

}  // namespace fanin::ops
