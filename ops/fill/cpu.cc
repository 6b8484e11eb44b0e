// The fills on the CPU.
#include <algorithm>

#include "cpu/cpu_backend.h"
#include "ops/dispatch.h"
#include "ops/fill/op.h"

namespace fanin::ops::internal {
namespace {

void Fill(Backend&, Tensor& t, float value) { std::fill_n(t.data(), t.size(), value); }

void FillRandom(Backend&, Tensor& t, const RandomSpec& spec) {
  float* out = t.data();
  const int64_t n = t.size();
  for (int64_t i = 0; i < n; ++i) out[i] = RandomValue(spec, static_cast<uint64_t>(i));
}

const bool kRegistered = Kernels<FillOp>::Register<CpuBackend>(Fill) &&
                         Kernels<FillRandomOp>::Register<CpuBackend>(FillRandom);

}  // namespace
}  // namespace fanin::ops::internal
