// The CPU's GEMM for small products, shared with the dense forward (ops/dense/cpu.cc).
#pragma once

#include <cstdint>

namespace fanin::ops::internal {

// Below this many multiply-adds a product is over before a oneDNN call has dispatched it
// (about 1 us of argument checking per call): the activation study's 16 x 2 x 2 layers
// spent 23% of their time in libdnnl outside the kernels.
inline constexpr int64_t kTinyGemmMacs = 4096;

// c = alpha op(a) op(b) + beta c (row-major, c [m x n], k the inner size) as a plain loop.
void TinyGemm(const float* a, bool transpose_a, const float* b, bool transpose_b, float* c,
              int64_t m, int64_t n, int64_t k, float alpha, float beta);

}  // namespace fanin::ops::internal
