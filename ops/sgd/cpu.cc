// The SGD update on the CPU.
#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "ops/dispatch.h"
#include "ops/sgd/op.h"

namespace fanin::ops::internal {
namespace {

void SgdUpdate(Backend& backend, const SgdStep& step, Tensor& params, const Tensor& grads,
               Tensor* velocity) {
  float* p = params.data();
  const float* g = grads.data();
  const int64_t n = params.size();
  const float lr = step.learning_rate, mu = step.momentum;
  if (velocity == nullptr) {
    ParallelFor(n, static_cast<CpuBackend&>(backend).num_threads(), 64, n,
                [&](int64_t begin, int64_t end) {
#pragma omp simd
                  for (int64_t i = begin; i < end; ++i) p[i] -= lr * g[i];
                });
    return;
  }
  float* v = velocity->data();
  const bool nesterov = step.nesterov;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    v[i] = mu * v[i] - lr * g[i];
    p[i] += nesterov ? mu * v[i] - lr * g[i] : v[i];
  }
}

const bool kRegistered = Kernels<SgdUpdateOp>::Register<CpuBackend>(SgdUpdate);

}  // namespace
}  // namespace fanin::ops::internal
