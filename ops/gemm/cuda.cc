// The BLAS ops on the GPU, through cuBLAS on the backend's stream.
#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "ops/check.h"
#include "ops/dispatch.h"
#include "ops/gemm/op.h"

namespace fanin::gpu {
namespace {

// cuBLAS is column-major. A row-major [r x c] matrix is, byte for byte, the column-major
// [c x r] matrix of its transpose, so the row-major C = op(A) op(B) is computed as the
// column-major C^T = op(B)^T op(A)^T: swap the operands, keep each one's transpose flag,
// and swap m and n. Leading dimensions are the row-major row lengths.
void Gemm(Backend& backend, const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b,
          float alpha, float beta, Tensor& c) {
  auto& cuda = static_cast<CudaBackend&>(backend);
  const auto [m, n, k] = ops::internal::CheckGemm(a, transpose_a, b, transpose_b, c);
  cuda.Activate();
  if (k == 0) {          // c = beta * c, by definition; not every BLAS agrees for k = 0
    if (beta == 0.0f) {  // beta = 0 means "ignore c" (it may hold NaN), not NaN * 0
      FANIN_CUDA_CHECK(cudaMemsetAsync(c.data(), 0, sizeof(float) * c.size(), cuda.stream()));
    } else {
      FANIN_CUDA_CHECK(cublasSscal_64(cuda.cublas(), c.size(), &beta, c.data(), 1));
    }
    return;
  }
  // FP32 unless the user opted in to TF32 tensor cores (10-bit mantissa inputs).
  const cublasComputeType_t compute =
      cuda.allow_tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  FANIN_CUDA_CHECK(cublasGemmEx_64(cuda.cublas(), transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                   transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha,
                                   b.data(), CUDA_R_32F, b.dim(1), a.data(), CUDA_R_32F, a.dim(1),
                                   &beta, c.data(), CUDA_R_32F, n, compute, CUBLAS_GEMM_DEFAULT));
}

void Axpy(Backend& backend, float alpha, const Tensor& x, Tensor& y) {
  auto& cuda = static_cast<CudaBackend&>(backend);
  cuda.Activate();
  FANIN_CUDA_CHECK(cublasSaxpy_64(cuda.cublas(), x.size(), &alpha, x.data(), 1, y.data(), 1));
}

using ops::internal::AxpyOp;
using ops::internal::GemmOp;
using ops::internal::Kernels;
const bool kRegistered =
    Kernels<GemmOp>::Register<CudaBackend>(Gemm) && Kernels<AxpyOp>::Register<CudaBackend>(Axpy);

}  // namespace
}  // namespace fanin::gpu
