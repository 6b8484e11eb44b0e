// The BLAS ops' implementation signatures (see ops/dispatch.h); the contract is in fanin/ops.h.
#pragma once

#include "fanin/backend.h"
#include "fanin/tensor.h"

namespace fanin::ops::internal {

// Called with conforming shapes and m, n > 0 (k may be 0).
struct GemmOp {
  static constexpr char kName[] = "Gemm";
  using Fn = void(Backend&, const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b,
                  float alpha, float beta, Tensor& c);
};
// Called with x and y of one size, not 0.
struct AxpyOp {
  static constexpr char kName[] = "Axpy";
  using Fn = void(Backend&, float alpha, const Tensor& x, Tensor& y);
};

}  // namespace fanin::ops::internal
