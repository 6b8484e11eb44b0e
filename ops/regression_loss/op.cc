#include "ops/regression_loss/op.h"

#include <stdexcept>
#include <string>

#include "fanin/ops.h"
#include "ops/check.h"
#include "ops/dispatch.h"

namespace fanin::ops {

void RegressionLoss(ErrorKind kind, const Tensor& output, const Tensor& targets, float grad_scale,
                    Tensor* grad, Tensor& totals, int64_t slot) {
  const char* op = "RegressionLoss";
  Backend& backend = internal::OneBackend(
      op, {{"output", &output}, {"targets", &targets}, {"grad", grad}, {"totals", &totals}});
  internal::CheckMatrix(op, "output", output);
  if (targets.shape() != output.shape()) {
    throw std::invalid_argument(std::string(op) + ": output " + ShapeToString(output.shape()) +
                                " and targets " + ShapeToString(targets.shape()) + " differ");
  }
  internal::CheckLossArgs(op, output, grad, totals, slot);
  internal::Run<internal::RegressionLossOp>(backend, kind, output, targets, grad_scale, grad,
                                            totals.data() + 2 * slot);
}

}  // namespace fanin::ops
