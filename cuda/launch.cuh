// Launch geometry shared by the element-wise kernels (.cu files only).
#pragma once

#include <cstdint>

namespace fanin::gpu {

inline constexpr int kThreads = 256;

// Blocks for a grid-stride loop over n elements: one element per thread up to a cap that
// still fills any current GPU many times over (132 SMs x 2048 threads on the H200, as on an
// H100); beyond it each thread loops.
inline unsigned BlocksFor(int64_t n) {
  constexpr int64_t kMaxBlocks = 8192;
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > kMaxBlocks ? kMaxBlocks : blocks));
}

// The index of this thread's first element and the stride of a grid-stride loop, in 64 bits.
__device__ inline int64_t GridStart() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline int64_t GridStride() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

}  // namespace fanin::gpu
