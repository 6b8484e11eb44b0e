// Dropout: a grid-stride pass, each element's keep decision from its own Philox counter
// (ops/dropout/math.h: the CPU's rule, integer-exact), so a GPU drops the elements the CPU
// drops for the same mask.
#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "cuda/launch.cuh"
#include "ops/dispatch.h"
#include "ops/dropout/math.h"
#include "ops/dropout/op.h"

namespace fanin::gpu {
namespace {

__global__ void DropoutKernel(DropoutMask mask, uint32_t threshold, float scale, const float* x,
                              float* y, int64_t n) {
  for (int64_t i = GridStart(); i < n; i += GridStride()) {
    y[i] = ops::internal::Keep(mask, threshold, static_cast<uint64_t>(i)) ? x[i] * scale : 0.0f;
  }
}

void Dropout(Backend& backend, const DropoutMask& mask, uint32_t threshold, float scale,
             const Tensor& in, Tensor& out) {
  auto& cuda = static_cast<CudaBackend&>(backend);
  cuda.Activate();
  const int64_t n = in.size();
  if (n == 0) return;
  DropoutKernel<<<BlocksFor(n), kThreads, 0, cuda.stream()>>>(mask, threshold, scale, in.data(),
                                                              out.data(), n);
  FANIN_CUDA_CHECK_LAUNCH();
}

using ops::internal::DropoutOp;
using ops::internal::Kernels;
const bool kRegistered = Kernels<DropoutOp>::Register<CudaBackend>(Dropout);

}  // namespace
}  // namespace fanin::gpu
