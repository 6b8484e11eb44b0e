// Mean squared and absolute error on the CPU: one pass per sample
// (ops/regression_loss/math.h), the sums in double in sample order.
#include <cstdint>

#include "cpu/cpu_backend.h"
#include "ops/dispatch.h"
#include "ops/regression_loss/math.h"
#include "ops/regression_loss/op.h"

namespace fanin::ops::internal {
namespace {

template <ErrorKind kKind>
void Samples(const Tensor& output, const Tensor& targets, float grad_scale, Tensor* grad,
             float* totals) {
  const int64_t n = output.rows(), k = output.cols();
  double loss = 0.0, metric = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const SampleErrors e =
        RegressionSample<kKind>(output.data() + i * k, targets.data() + i * k, k, grad_scale,
                                grad != nullptr ? grad->data() + i * k : nullptr);
    loss += e.loss;
    metric += e.metric;
  }
  totals[0] = static_cast<float>(loss);
  totals[1] = static_cast<float>(metric);
}

void RegressionLoss(Backend&, ErrorKind kind, const Tensor& output, const Tensor& targets,
                    float grad_scale, Tensor* grad, float* totals) {
  if (kind == ErrorKind::kSquared) {
    Samples<ErrorKind::kSquared>(output, targets, grad_scale, grad, totals);
  } else {
    Samples<ErrorKind::kAbsolute>(output, targets, grad_scale, grad, totals);
  }
}

const bool kRegistered = Kernels<RegressionLossOp>::Register<CpuBackend>(RegressionLoss);

}  // namespace
}  // namespace fanin::ops::internal
