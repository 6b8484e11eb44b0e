// Optimizer updates: one element-wise launch over the model's whole flat parameter buffer
// (every layer's kernel and bias are views into it), so a step is one launch whatever the
// depth of the model. Keras's update rules; see SgdStep and AdamStep in backend.h.
#include <cmath>

#include "cuda/check.h"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace fanin::gpu {
namespace {

enum class SgdKind { kPlain, kMomentum, kNesterov };

// plain:    p -= lr g
// momentum: v = mu v - lr g;  p += v
// nesterov: v = mu v - lr g;  p += mu v - lr g   (the look-ahead, in Keras's form)
template <SgdKind kKind>
__global__ void SgdKernel(float* __restrict__ params, const float* __restrict__ grads,
                          float* __restrict__ velocity, int64_t n, float learning_rate,
                          float momentum) {
  for (int64_t i = GridStart(); i < n; i += GridStride()) {
    const float g = grads[i];
    if constexpr (kKind == SgdKind::kPlain) {
      params[i] -= learning_rate * g;
    } else {
      const float v = momentum * velocity[i] - learning_rate * g;
      velocity[i] = v;
      params[i] += kKind == SgdKind::kNesterov ? momentum * v - learning_rate * g : v;
    }
  }
}

// m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  p -= lr_t m / (sqrt(v) + eps), where the
// bias corrections are folded into lr_t = lr sqrt(1 - b2^t) / (1 - b1^t) on the host.
__global__ void AdamKernel(float* __restrict__ params, const float* __restrict__ grads,
                           float* __restrict__ m, float* __restrict__ v, int64_t n,
                           float corrected_lr, float beta1, float beta2, float epsilon) {
  for (int64_t i = GridStart(); i < n; i += GridStride()) {
    const float g = grads[i];
    const float mi = beta1 * m[i] + (1.0f - beta1) * g;
    const float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    params[i] -= corrected_lr * mi / (sqrtf(vi) + epsilon);
  }
}

}  // namespace

void LaunchSgdUpdate(const SgdStep& step, float* params, const float* grads, float* velocity,
                     int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  const float lr = step.learning_rate;
  const float mu = step.momentum;
  if (mu == 0.0f) {
    SgdKernel<SgdKind::kPlain>
        <<<BlocksFor(n), kThreads, 0, stream>>>(params, grads, nullptr, n, lr, mu);
  } else if (step.nesterov) {
    SgdKernel<SgdKind::kNesterov>
        <<<BlocksFor(n), kThreads, 0, stream>>>(params, grads, velocity, n, lr, mu);
  } else {
    SgdKernel<SgdKind::kMomentum>
        <<<BlocksFor(n), kThreads, 0, stream>>>(params, grads, velocity, n, lr, mu);
  }
  FANIN_CUDA_CHECK_LAUNCH();
}

void LaunchAdamUpdate(const AdamStep& step, float* params, const float* grads, float* m, float* v,
                      int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  const double t = static_cast<double>(step.t);
  const double corrected_lr = step.learning_rate * std::sqrt(1.0 - std::pow(step.beta2, t)) /
                              (1.0 - std::pow(step.beta1, t));
  AdamKernel<<<BlocksFor(n), kThreads, 0, stream>>>(params, grads, m, v, n,
                                                    static_cast<float>(corrected_lr), step.beta1,
                                                    step.beta2, step.epsilon);
  FANIN_CUDA_CHECK_LAUNCH();
}

}  // namespace fanin::gpu
