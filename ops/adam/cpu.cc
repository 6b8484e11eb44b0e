// The Adam update on the CPU.
#include <cmath>

#include "cpu/cpu_backend.h"
#include "ops/adam/op.h"
#include "ops/dispatch.h"
#include "ops/stats/cpu.h"

namespace fanin::ops::internal {
namespace {

void AdamUpdate(Backend&, const AdamStep& step, Tensor& params, const Tensor& grads, Tensor& m,
                Tensor& v, const ParameterStats* stats) {
  const double t = static_cast<double>(step.t);
  const float lr_t =
      static_cast<float>(step.learning_rate * std::sqrt(1.0 - std::pow(step.beta2, t)) /
                         (1.0 - std::pow(step.beta1, t)));
  const float b1 = step.beta1, b2 = step.beta2, eps = step.epsilon;
  float* p = params.data();
  const float* g = grads.data();
  float* ms = m.data();
  float* vs = v.data();
  const int64_t n = params.size();
  const auto update = [&](int64_t begin, int64_t end, float* delta) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) {
      const float old = p[i];
      ms[i] = b1 * ms[i] + (1.0f - b1) * g[i];
      vs[i] = b2 * vs[i] + (1.0f - b2) * g[i] * g[i];
      p[i] -= lr_t * ms[i] / (std::sqrt(vs[i]) + eps);
      if (delta != nullptr) delta[i - begin] = p[i] - old;
    }
  };
  if (stats != nullptr) {
    SummarizedUpdate(1, *stats, p, g, n, update);  // serial, like the plain loop
    return;
  }
  update(0, n, nullptr);
}

const bool kRegistered = Kernels<AdamUpdateOp>::Register<CpuBackend>(AdamUpdate);

}  // namespace
}  // namespace fanin::ops::internal
