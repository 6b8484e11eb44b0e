// Data movement: gathering a batch's rows.
#include "cuda/check.h"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace fanin::gpu {
namespace {

// dst[r, c] = src[indices[r], c]: consecutive threads copy consecutive columns of a row,
// so both the reads of a source row and the writes are coalesced.
__global__ void GatherRowsKernel(const float* __restrict__ src, const int64_t* __restrict__ indices,
                                 int64_t rows, int64_t cols, float* __restrict__ dst) {
  const int64_t n = rows * cols;
  for (int64_t i = GridStart(); i < n; i += GridStride()) {
    const int64_t r = i / cols;
    dst[i] = src[indices[r] * cols + (i - r * cols)];
  }
}

}  // namespace

void LaunchGatherRows(const float* src, const int64_t* indices, int64_t rows, int64_t cols,
                      float* dst, cudaStream_t stream) {
  if (rows * cols == 0) return;
  GatherRowsKernel<<<BlocksFor(rows * cols), kThreads, 0, stream>>>(src, indices, rows, cols, dst);
  FANIN_CUDA_CHECK_LAUNCH();
}

}  // namespace fanin::gpu
