// The GEMM of the dense forward on the GPU: z = x w + bias in one cuBLASLt matmul, the bias
// added in the GEMM's epilogue (CUBLASLT_EPILOGUE_BIAS) instead of by a second pass over z.
// The activation is not fused here; see ops/dense/cuda.cu.
//
// Plain C++ against cuBLASLt's C header, compiled by the host compiler. Compiled and linked
// only: no GPU has run it yet (docs/cuda.md).
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <tuple>

#include "cuda/cuda_backend.h"

namespace fanin::gpu {

// The dense op's state in each CudaBackend, used only from that backend's calls (not thread-safe,
// like the backend). Holds a cuBLASLt handle and, per shape, the matmul descriptor, the three
// matrix layouts and the algorithm cuBLASLt's heuristic chose, so that a training step (the same
// shapes every step) queries the heuristic once per layer shape, never again.
class LtDense final : public OpState {
 public:
  // `workspace` is device memory of `workspace_bytes` that cuBLASLt may use: the backend's
  // cuBLAS workspace, safe to share because cuBLAS and cuBLASLt only ever run on the one
  // stream, one call after the other. Nothing is allocated per call, so Forward can run
  // inside a graph capture (Backend::Record). Needs the backend's device current.
  LtDense(void* workspace, size_t workspace_bytes);
  ~LtDense() override;
  LtDense(const LtDense&) = delete;
  LtDense& operator=(const LtDense&) = delete;

  // Enqueues z [n x m] = x [n x k] w [k x m] + bias [m] (row-major, bias broadcast over
  // the rows) on `stream`, FP32 (tf32: CUBLAS_COMPUTE_32F_FAST_TF32). Requires n, k, m > 0
  // and device pointers; z must not overlap x, w or bias. Returns false, having enqueued
  // nothing, when cuBLASLt offers no algorithm for this shape and these pointer alignments;
  // the caller then computes the same thing another way. Throws std::runtime_error on
  // any other cuBLASLt failure.
  bool Forward(const float* x, const float* w, const float* bias, float* z, int64_t n, int64_t k,
               int64_t m, bool tf32, cudaStream_t stream);

  // The number of cached plans (shapes and alignments seen so far).
  size_t cached_plans() const { return plans_.size(); }

 private:
  // n, k, m, tf32, then the alignments (bytes, a power of two, at most 256) of x, w, z and
  // bias: the heuristic's choice is valid only for operands at least that aligned.
  using Key = std::tuple<int64_t, int64_t, int64_t, bool, uint32_t, uint32_t, uint32_t, uint32_t>;
  struct Plan;

  std::unique_ptr<Plan> MakePlan(const Key& key, const float* bias) const;

  cublasLtHandle_t handle_ = nullptr;
  void* workspace_;
  size_t workspace_bytes_;
  std::map<Key, std::unique_ptr<Plan>> plans_;
};

// The backend's LtDense.
LtDense& LtDenseOf(const CudaBackend& backend);

}  // namespace fanin::gpu
