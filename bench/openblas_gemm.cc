#include "bench/openblas_gemm.h"

#include <cblas.h>

namespace fanin::bench {

void OpenBlasGemm(const GemmShape& g, const float* a, const float* b, float* c) {
  const blasint lda = static_cast<blasint>(g.transpose_a ? g.m : g.k);
  const blasint ldb = static_cast<blasint>(g.transpose_b ? g.k : g.n);
  cblas_sgemm(CblasRowMajor, g.transpose_a ? CblasTrans : CblasNoTrans,
              g.transpose_b ? CblasTrans : CblasNoTrans, static_cast<blasint>(g.m),
              static_cast<blasint>(g.n), static_cast<blasint>(g.k), 1.0f, a, lda, b, ldb, 0.0f, c,
              static_cast<blasint>(g.n));
}

}  // namespace fanin::bench
