// The SGD update on the GPU: one element-wise launch over the model's whole flat parameter
// buffer (every layer's kernel and bias are views into it), so a step is one launch whatever
// the depth of the model. With fused statistics (ParameterStats), the update itself is the
// summarizing pass: one launch updates the whole buffer and leaves per-block partials of each
// parameter tensor as found, its gradient and its delta, and one more adds them into the
// slots, plus a one-thread launch that saves the shifts and the bins' memset
// (ops/stats/summary.cuh's LaunchRule; up to 16 parameter tensors per group of launches).
// Keras's update rule; see SgdStep in fanin/ops.h.
#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "cuda/launch.cuh"
#include "ops/dispatch.h"
#include "ops/sgd/op.h"
#include "ops/stats/summary.cuh"

namespace fanin::gpu {
namespace {

// plain:    p -= lr g
// momentum: v = mu v - lr g;  p += v
// nesterov: v = mu v - lr g;  p += mu v - lr g   (the look-ahead, in Keras's form)
// One functor per rule, applied by the plain kernel and by the summarized one alike
// (ops/stats/summary.cuh), so fused statistics change no bit of the update.
struct PlainRule {
  float learning_rate;
  __device__ float operator()(int64_t, float p, float g) const { return p - learning_rate * g; }
};

template <bool kNesterov>
struct MomentumRule {
  float learning_rate, momentum;
  float* velocity;
  __device__ float operator()(int64_t i, float p, float g) const {
    const float v = momentum * velocity[i] - learning_rate * g;
    velocity[i] = v;
    return p + (kNesterov ? momentum * v - learning_rate * g : v);
  }
};

void SgdUpdate(Backend& backend, const SgdStep& step, Tensor& params, const Tensor& grads,
               Tensor* velocity, const ParameterStats* stats) {
  auto& cuda = static_cast<CudaBackend&>(backend);
  cuda.Activate();
  float* p = params.data();
  const float* g = grads.data();
  const int64_t n = params.size();
  const float lr = step.learning_rate, mu = step.momentum;
  if (mu == 0.0f) {
    LaunchRule(cuda, stats, p, g, n, PlainRule{lr});
  } else if (step.nesterov) {
    LaunchRule(cuda, stats, p, g, n, MomentumRule<true>{lr, mu, velocity->data()});
  } else {
    LaunchRule(cuda, stats, p, g, n, MomentumRule<false>{lr, mu, velocity->data()});
  }
}

using ops::internal::Kernels;
using ops::internal::SgdUpdateOp;
const bool kRegistered = Kernels<SgdUpdateOp>::Register<CudaBackend>(SgdUpdate);

}  // namespace
}  // namespace fanin::gpu
