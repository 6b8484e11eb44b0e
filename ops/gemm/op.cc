#include "ops/gemm/op.h"

#include "fanin/ops.h"
#include "ops/check.h"
#include "ops/dispatch.h"

namespace fanin::ops {

void Gemm(const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b, float alpha,
          float beta, Tensor& c) {
  Backend& backend = internal::OneBackend("Gemm", {{"a", &a}, {"b", &b}, {"c", &c}});
  const internal::GemmDims d = internal::CheckGemm(a, transpose_a, b, transpose_b, c);
  if (d.m == 0 || d.n == 0) return;
  internal::Run<internal::GemmOp>(backend, a, transpose_a, b, transpose_b, alpha, beta, c);
}

void Axpy(float alpha, const Tensor& x, Tensor& y) {
  Backend& backend = internal::OneBackend("Axpy", {{"x", &x}, {"y", &y}});
  internal::CheckSameSize("Axpy", "x", x, "y", y);
  if (x.size() == 0) return;
  internal::Run<internal::AxpyOp>(backend, alpha, x, y);
}

}  // namespace fanin::ops
