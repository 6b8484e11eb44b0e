// The dense forward on the CPU: the bias rides in the GEMM's output pass (a oneDNN matmul
// bias), so z is written once; then the activation.
#include "ops/gemm/cpu.h"

#include "cpu/cpu_backend.h"
#include "cpu/onednn.h"
#include "ops/activation/op.h"
#include "ops/check.h"
#include "ops/dense/op.h"
#include "ops/dispatch.h"
#include "ops/gemm/op.h"

namespace fanin::ops::internal {
namespace {

void DenseForward(Backend& backend, const Tensor& x, const Tensor& w, const Tensor& bias,
                  ActivationSpec act, Tensor& z, Tensor& a, const ForwardStats* stats) {
  const GemmDims d = CheckGemm(x, false, w, false, z);
  if (d.m * d.n * d.k <= kTinyGemmMacs) {  // TinyGemm, then the bias and activation
    Kernels<GemmOp>::For(backend)(backend, x, false, w, false, 1.0f, 0.0f, z);
    Kernels<BiasActivationForwardOp>::For(backend)(backend, act, bias, z, a, stats);
    return;
  }
  static_cast<CpuBackend&>(backend).onednn().Gemm(x.data(), false, w.data(), false, bias.data(),
                                                  z.data(), d.m, d.n, d.k, 1.0f, 0.0f);
  Kernels<ActivationForwardOp>::For(backend)(backend, act, z, a, stats);
}

const bool kRegistered = Kernels<DenseForwardOp>::Register<CpuBackend>(DenseForward);

}  // namespace
}  // namespace fanin::ops::internal
