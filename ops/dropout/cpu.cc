// Dropout on the CPU: one pass, each element's keep decision from its own Philox counter
// (ops/dropout/math.h), so the split over threads changes nothing.
#include <cstdint>

#include "cpu/cpu_backend.h"
#include "ops/dispatch.h"
#include "ops/dropout/math.h"
#include "ops/dropout/op.h"

namespace fanin::ops::internal {
namespace {

void Dropout(Backend&, const DropoutMask& mask, uint32_t threshold, float scale, const Tensor& in,
             Tensor& out) {
  const float* x = in.data();
  float* y = out.data();
  const int64_t n = in.size();
  for (int64_t i = 0; i < n; ++i) {
    y[i] = Keep(mask, threshold, static_cast<uint64_t>(i)) ? x[i] * scale : 0.0f;
  }
}

const bool kRegistered = Kernels<DropoutOp>::Register<CpuBackend>(Dropout);

}  // namespace
}  // namespace fanin::ops::internal
