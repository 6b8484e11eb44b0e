#include "ops/softmax_ce/op.h"

#include <stdexcept>
#include <string>

#include "fanin/ops.h"
#include "ops/check.h"
#include "ops/dispatch.h"

namespace fanin::ops {

void SoftmaxCrossEntropy(ClassLabels labels_kind, float label_smoothing, const Tensor& logits,
                         const Tensor& labels, float grad_scale, Tensor* grad, Tensor& totals,
                         int64_t slot) {
  const char* op = "SoftmaxCrossEntropy";
  Backend& backend = internal::OneBackend(
      op, {{"logits", &logits}, {"labels", &labels}, {"grad", grad}, {"totals", &totals}});
  internal::CheckMatrix(op, "logits", logits);
  internal::CheckMatrix(op, "labels", labels);
  const int64_t label_cols = labels_kind == ClassLabels::kIndex ? 1 : logits.cols();
  if (labels.rows() != logits.rows() || labels.cols() != label_cols) {
    throw std::invalid_argument(
        std::string(op) + ": logits " + ShapeToString(logits.shape()) + " need labels [" +
        std::to_string(logits.rows()) + " x " + std::to_string(label_cols) + "] (" +
        (labels_kind == ClassLabels::kIndex ? "class indices" : "one row of k labels per sample") +
        "), got " + ShapeToString(labels.shape()));
  }
  internal::CheckLossArgs(op, logits, grad, totals, slot, label_smoothing);
  internal::Run<internal::SoftmaxCrossEntropyOp>(backend, labels_kind, label_smoothing, logits,
                                                 labels, grad_scale, grad,
                                                 totals.data() + 2 * slot);
}

void Softmax(Tensor& z) {
  Backend& backend = internal::OneBackend("Softmax", {{"z", &z}});
  internal::CheckMatrix("Softmax", "z", z);
  internal::Run<internal::SoftmaxOp>(backend, z);
}

}  // namespace fanin::ops
