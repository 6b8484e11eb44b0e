// Sigmoid + binary cross-entropy on the CPU: one pass over the samples, the loss summed in
// double in sample order.
#include <algorithm>
#include <cmath>

#include "cpu/cpu_backend.h"
#include "ops/bce/op.h"
#include "ops/dispatch.h"
#include "ops/loss_math.h"

namespace fanin::ops::internal {
namespace {

void BinaryCrossEntropy(Backend&, BceInput input, float label_smoothing, const Tensor& output,
                        const Tensor& labels, float grad_scale, Tensor* grad, float* totals) {
  const float* out = output.data();
  const float* y = labels.data();
  float* g = grad ? grad->data() : nullptr;
  const int64_t n = output.size();
  double loss_sum = 0.0;
  int64_t correct = 0;
  const SmoothedLabel smooth(label_smoothing, 2.0f);
  for (int64_t i = 0; i < n; ++i) {
    const bool positive = y[i] >= 0.5f;
    const float yi = smooth(y[i]);
    if (input == BceInput::kLogits) {
      // max(z,0) - z y + log(1 + e^-|z|): no exp of a positive number, so finite for any z.
      const float z = out[i];
      loss_sum += std::max(z, 0.0f) - z * yi + std::log1p(std::exp(-std::fabs(z)));
      correct += z == z && (z > 0.0f) == positive;  // a NaN prediction is never correct
      if (g) g[i] = (StableSigmoid(z) - yi) * grad_scale;
    } else {
      // Keras: p clipped to [eps, 1 - eps]; the clip has zero gradient where it is active.
      // std::clamp keeps a NaN p, which then reaches the loss and the gradient.
      const float p = out[i];
      const float pc = std::clamp(p, kProbabilityEpsilon, 1.0f - kProbabilityEpsilon);
      loss_sum += -(yi * std::log(pc) + (1.0f - yi) * std::log(1.0f - pc));
      correct += p == p && (p > 0.5f) == positive;
      const bool clipped = p != pc && p == p;
      if (g) g[i] = clipped ? 0.0f : (pc - yi) / (pc * (1.0f - pc)) * grad_scale;
    }
  }
  totals[0] = static_cast<float>(loss_sum);
  totals[1] = static_cast<float>(correct);
}

const bool kRegistered = Kernels<BinaryCrossEntropyOp>::Register<CpuBackend>(BinaryCrossEntropy);

}  // namespace
}  // namespace fanin::ops::internal
