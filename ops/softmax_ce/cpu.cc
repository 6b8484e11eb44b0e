// Softmax + categorical cross-entropy on the CPU: one pass per sample (ops/softmax_ce/math.h),
// the loss summed in double in sample order.
#include <cstdint>

#include "cpu/cpu_backend.h"
#include "ops/dispatch.h"
#include "ops/softmax_ce/math.h"
#include "ops/softmax_ce/op.h"

namespace fanin::ops::internal {
namespace {

template <ClassLabels kLabels>
void Samples(SmoothedLabel smooth, const Tensor& logits, const Tensor& labels, float grad_scale,
             Tensor* grad, float* totals) {
  const int64_t n = logits.rows(), k = logits.cols(), label_cols = labels.cols();
  double loss = 0.0, correct = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const SampleLoss r = SoftmaxCrossEntropySample<kLabels>(
        logits.data() + i * k, labels.data() + i * label_cols, k, smooth, grad_scale,
        grad != nullptr ? grad->data() + i * k : nullptr);
    loss += r.loss;
    correct += r.correct;
  }
  totals[0] = static_cast<float>(loss);
  totals[1] = static_cast<float>(correct);
}

void SoftmaxCrossEntropy(Backend&, ClassLabels labels_kind, float label_smoothing,
                         const Tensor& logits, const Tensor& labels, float grad_scale, Tensor* grad,
                         float* totals) {
  const SmoothedLabel smooth(label_smoothing, static_cast<float>(logits.cols()));
  if (labels_kind == ClassLabels::kIndex) {
    Samples<ClassLabels::kIndex>(smooth, logits, labels, grad_scale, grad, totals);
  } else {
    Samples<ClassLabels::kDistribution>(smooth, logits, labels, grad_scale, grad, totals);
  }
}

void Softmax(Backend&, Tensor& z) {
  for (int64_t i = 0; i < z.rows(); ++i) SoftmaxSample(z.data() + i * z.cols(), z.cols());
}

const bool kRegistered =
    Kernels<SoftmaxCrossEntropyOp>::Register<CpuBackend>(SoftmaxCrossEntropy) &&
    Kernels<SoftmaxOp>::Register<CpuBackend>(Softmax);

}  // namespace
}  // namespace fanin::ops::internal
