#include "ops/dense/op.h"

#include "fanin/ops.h"
#include "ops/check.h"
#include "ops/dispatch.h"

namespace fanin::ops {

void DenseForward(const Tensor& x, const Tensor& w, const Tensor& bias, ActivationSpec act,
                  Tensor& z, Tensor& a, const ForwardStats* stats) {
  const char* op = "DenseForward";
  Backend& backend =
      internal::OneBackend(op, {{"x", &x}, {"w", &w}, {"bias", &bias}, {"z", &z}, {"a", &a}});
  const internal::GemmDims d = internal::CheckGemm(x, false, w, false, z);
  CheckActivation(act, op);
  internal::CheckBias(op, bias, z);
  internal::CheckSameSize(op, "z", z, "a", a);
  if (stats != nullptr) internal::CheckForwardStats(op, *stats, backend);
  if (d.m == 0 || d.n == 0) {  // nothing to compute; the slots still say so
    if (stats != nullptr) {
      Summarize(z, stats->z);
      Summarize(a, stats->a);
    }
    return;
  }
  internal::Run<internal::DenseForwardOp>(backend, x, w, bias, act, z, a, stats);
}

}  // namespace fanin::ops
