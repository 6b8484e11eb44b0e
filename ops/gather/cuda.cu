// Data movement: gathering a batch's rows.
#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "cuda/launch.cuh"
#include "ops/dispatch.h"
#include "ops/gather/op.h"

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

void LaunchGatherRows(const float* src, const int64_t* indices, int64_t rows, int64_t cols,
                      float* dst, cudaStream_t stream) {
  if (rows * cols == 0) return;
  GatherRowsKernel<<<BlocksFor(rows * cols), kThreads, 0, stream>>>(src, indices, rows, cols, dst);
  FANIN_CUDA_CHECK_LAUNCH();
}

// One upload of all indices (pinned, asynchronous), then one gather launch.
void GatherRows(Backend& backend, const Tensor& src, std::span<const int64_t> indices,
                Tensor& dst) {
  auto& cuda = static_cast<CudaBackend&>(backend);
  const auto rows = static_cast<int64_t>(indices.size());
  cuda.Activate();
  cuda.RefuseWhileRecording("GatherRows", kUploadInRecording);
  ScratchBuffer device_indices(cuda.allocator(), sizeof(int64_t) * rows);
  cuda.uploads().Upload(indices.data(), device_indices.as<void>(), sizeof(int64_t) * rows);
  LaunchGatherRows(src.data(), device_indices.as<int64_t>(), rows, src.cols(), dst.data(),
                   cuda.stream());
}

using ops::internal::GatherRowsOp;
using ops::internal::Kernels;
const bool kRegistered = Kernels<GatherRowsOp>::Register<CudaBackend>(GatherRows);

}  // namespace
}  // namespace fanin::gpu
