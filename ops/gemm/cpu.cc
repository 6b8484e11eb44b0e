// The BLAS ops on the CPU: oneDNN's matmul, and a plain loop for products too small to be
// worth a oneDNN call.
#include "ops/gemm/cpu.h"

#include "cpu/cpu_backend.h"
#include "cpu/onednn.h"
#include "ops/check.h"
#include "ops/dispatch.h"
#include "ops/gemm/op.h"

namespace fanin::ops::internal {

// Each dot product sums in order of p.
void TinyGemm(const float* a, bool transpose_a, const float* b, bool transpose_b, float* c,
              int64_t m, int64_t n, int64_t k, float alpha, float beta) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      float dot = 0.0f;
      for (int64_t p = 0; p < k; ++p) {
        dot += (transpose_a ? a[p * m + i] : a[i * k + p]) *
               (transpose_b ? b[j * k + p] : b[p * n + j]);
      }
      // beta = 0 means "ignore c" (it may hold NaN), as BLAS specifies.
      float& out = c[i * n + j];
      out = beta == 0.0f ? alpha * dot : alpha * dot + beta * out;
    }
  }
}

namespace {

void Gemm(Backend& backend, const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b,
          float alpha, float beta, Tensor& c) {
  const GemmDims d = CheckGemm(a, transpose_a, b, transpose_b, c);
  if (d.m * d.n * d.k <= kTinyGemmMacs) {  // k = 0 included: c = beta c
    TinyGemm(a.data(), transpose_a, b.data(), transpose_b, c.data(), d.m, d.n, d.k, alpha, beta);
    return;
  }
  static_cast<CpuBackend&>(backend).onednn().Gemm(a.data(), transpose_a, b.data(), transpose_b,
                                                  nullptr, c.data(), d.m, d.n, d.k, alpha, beta);
}

void Axpy(Backend&, float alpha, const Tensor& x, Tensor& y) {
  const float* in = x.data();
  float* out = y.data();
  const int64_t n = x.size();
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] += alpha * in[i];
}

const bool kRegistered =
    Kernels<GemmOp>::Register<CpuBackend>(Gemm) && Kernels<AxpyOp>::Register<CpuBackend>(Axpy);

}  // namespace
}  // namespace fanin::ops::internal
