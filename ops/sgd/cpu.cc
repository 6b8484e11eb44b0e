// The SGD update on the CPU.
#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "ops/dispatch.h"
#include "ops/sgd/op.h"
#include "ops/stats/cpu.h"

namespace fanin::ops::internal {
namespace {

void SgdUpdate(Backend& backend, const SgdStep& step, Tensor& params, const Tensor& grads,
               Tensor* velocity, const ParameterStats* stats) {
  float* p = params.data();
  const float* g = grads.data();
  const int64_t n = params.size();
  const int threads = static_cast<CpuBackend&>(backend).num_threads();
  const float lr = step.learning_rate, mu = step.momentum;
  if (velocity == nullptr) {
    if (stats != nullptr) {
      SummarizedUpdate(threads, *stats, p, g, n, [&](int64_t begin, int64_t end, float* delta) {
#pragma omp simd
        for (int64_t i = begin; i < end; ++i) {
          const float old = p[i];
          p[i] = old - lr * g[i];
          delta[i - begin] = p[i] - old;
        }
      });
      return;
    }
    ParallelFor(n, threads, 64, n, [&](int64_t begin, int64_t end) {
#pragma omp simd
      for (int64_t i = begin; i < end; ++i) p[i] -= lr * g[i];
    });
    return;
  }
  float* v = velocity->data();
  const bool nesterov = step.nesterov;
  const auto momentum_update = [&](int64_t begin, int64_t end, float* delta) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) {
      const float old = p[i];
      v[i] = mu * v[i] - lr * g[i];
      p[i] += nesterov ? mu * v[i] - lr * g[i] : v[i];
      if (delta != nullptr) delta[i - begin] = p[i] - old;
    }
  };
  if (stats != nullptr) {
    // Serial like the unsummarized loop below, so that the chunking is all that differs.
    SummarizedUpdate(1, *stats, p, g, n, momentum_update);
    return;
  }
  momentum_update(0, n, nullptr);
}

const bool kRegistered = Kernels<SgdUpdateOp>::Register<CpuBackend>(SgdUpdate);

}  // namespace
}  // namespace fanin::ops::internal
