// The Adam update on the GPU: one element-wise launch over the model's whole flat parameter
// buffer, as the SGD update (ops/sgd/cuda.cu), and with fused statistics the same summarized
// update as SGD's (ops/stats/summary.cuh's LaunchRule), the rule being Adam's. Keras's update
// rule; see AdamStep in fanin/ops.h.
#include <cmath>

#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "cuda/launch.cuh"
#include "ops/adam/op.h"
#include "ops/dispatch.h"
#include "ops/stats/summary.cuh"

namespace fanin::gpu {
namespace {

// m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  p -= lr_t m / (sqrt(v) + eps), where the
// bias corrections are folded into lr_t = lr sqrt(1 - b2^t) / (1 - b1^t) on the host. The
// same functor for the plain and the summarized kernel (ops/stats/summary.cuh).
struct AdamRule {
  float* m;
  float* v;
  float corrected_lr, beta1, beta2, epsilon;
  __device__ float operator()(int64_t i, float p, float g) const {
    const float mi = beta1 * m[i] + (1.0f - beta1) * g;
    const float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    return p - corrected_lr * mi / (sqrtf(vi) + epsilon);
  }
};

void AdamUpdate(Backend& backend, const AdamStep& step, Tensor& params, const Tensor& grads,
                Tensor& m, Tensor& v, const ParameterStats* stats) {
  auto& cuda = static_cast<CudaBackend&>(backend);
  cuda.Activate();
  const double t = static_cast<double>(step.t);
  const double corrected_lr = step.learning_rate * std::sqrt(1.0 - std::pow(step.beta2, t)) /
                              (1.0 - std::pow(step.beta1, t));
  LaunchRule(cuda, stats, params.data(), grads.data(), params.size(),
             AdamRule{m.data(), v.data(), static_cast<float>(corrected_lr), step.beta1,
                      step.beta2, step.epsilon});
}

using ops::internal::AdamUpdateOp;
using ops::internal::Kernels;
const bool kRegistered = Kernels<AdamUpdateOp>::Register<CudaBackend>(AdamUpdate);

}  // namespace
}  // namespace fanin::gpu
