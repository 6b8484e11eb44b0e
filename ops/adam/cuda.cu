// The Adam update on the GPU: one element-wise launch over the model's whole flat parameter
// buffer, as the SGD update (ops/sgd/cuda.cu). Keras's update rule; see AdamStep in
// fanin/ops.h.
#include <cmath>

#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "cuda/launch.cuh"
#include "ops/adam/op.h"
#include "ops/dispatch.h"

namespace fanin::gpu {
namespace {

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

void AdamUpdate(Backend& backend, const AdamStep& step, Tensor& params, const Tensor& grads,
                Tensor& m, Tensor& v, const ParameterStats* stats) {
  auto& cuda = static_cast<CudaBackend&>(backend);
  cuda.Activate();
  LaunchAdamUpdate(step, params.data(), grads.data(), m.data(), v.data(), params.size(),
                   cuda.stream());
}

using ops::internal::AdamUpdateOp;
using ops::internal::Kernels;
const bool kRegistered = Kernels<AdamUpdateOp>::Register<CudaBackend>(AdamUpdate);

}  // namespace
}  // namespace fanin::gpu
