// The OpenBLAS baseline of the benchmarks (issue 5 compares fanin's GEMMs with it).
#pragma once

#include "bench/workloads.h"

namespace fanin::bench {

// Row-major contiguous c = op(a) op(b) of shape g through cblas_sgemm, on the OpenBLAS
// threads set by openblas_set_num_threads.
void OpenBlasGemm(const GemmShape& g, const float* a, const float* b, float* c);

}  // namespace fanin::bench
