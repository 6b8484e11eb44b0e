// The SGD update on the GPU: one element-wise launch over the model's whole flat parameter
// buffer (every layer's kernel and bias are views into it), so a step is one launch whatever
// the depth of the model. Keras's update rule; see SgdStep in fanin/ops.h.
#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "cuda/launch.cuh"
#include "ops/dispatch.h"
#include "ops/sgd/op.h"

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

void SgdUpdate(Backend& backend, const SgdStep& step, Tensor& params, const Tensor& grads,
               Tensor* velocity, const ParameterStats* stats) {
  auto& cuda = static_cast<CudaBackend&>(backend);
  cuda.Activate();
  LaunchSgdUpdate(step, params.data(), grads.data(),
                  velocity != nullptr ? velocity->data() : nullptr, params.size(), cuda.stream());
}

using ops::internal::Kernels;
using ops::internal::SgdUpdateOp;
const bool kRegistered = Kernels<SgdUpdateOp>::Register<CudaBackend>(SgdUpdate);

}  // namespace
}  // namespace fanin::gpu
