// The dense forward on the GPU: z = x w + bias with the bias added in the GEMM's epilogue (one
// cuBLASLt call, no second pass over z; ops/dense/cublaslt.h), then a = act(z) by the
// activation pass alone. cuBLASLt's RELU_BIAS and GELU_BIAS epilogues would fuse the activation
// too, but they write only act(z), and z is part of this op's contract (the backward pass reads
// it); RELU_AUX_BIAS adds only a bit-mask of z > 0, not z. Compiled, not yet run on a GPU.
#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "ops/activation/op.h"
#include "ops/check.h"
#include "ops/dense/cublaslt.h"
#include "ops/dense/op.h"
#include "ops/dispatch.h"
#include "ops/fill/op.h"
#include "ops/gemm/op.h"

namespace fanin::gpu {
namespace {

using ops::internal::ActivationForwardOp;
using ops::internal::BiasActivationForwardOp;
using ops::internal::DenseForwardOp;
using ops::internal::FillOp;
using ops::internal::GemmOp;
using ops::internal::Kernels;

void DenseForward(Backend& backend, const Tensor& x, const Tensor& w, const Tensor& bias,
                  ActivationSpec act, Tensor& z, Tensor& a, const ForwardStats* stats) {
  auto& cuda = static_cast<CudaBackend&>(backend);
  const auto [rows, cols, inner] = ops::internal::CheckGemm(x, false, w, false, z);
  cuda.Activate();
  if (inner == 0) {  // x w is an empty sum: z = 0 + bias, then the activation; no cuBLASLt
    Kernels<FillOp>::For(backend)(backend, z, 0.0f);
    Kernels<BiasActivationForwardOp>::For(backend)(backend, act, bias, z, a, stats);
    return;
  }
  if (!LtDenseOf(cuda).Forward(x.data(), w.data(), bias.data(), z.data(), rows, inner, cols,
                               cuda.allow_tf32(), cuda.stream())) {
    // cuBLASLt's heuristic offered no algorithm for this shape and these alignments (its
    // epilogue kernels cover fewer cases than cuBLAS's GEMMs, e.g. operands 4-byte aligned
    // inside a flat buffer). The unfused composition computes the same z and a (cuBLAS's
    // GEMM, then + bias, then act), with one more pass over z; the choice is remembered
    // per shape and alignment, so a step takes the same path every time.
    Kernels<GemmOp>::For(backend)(backend, x, false, w, false, 1.0f, 0.0f, z);
    Kernels<BiasActivationForwardOp>::For(backend)(backend, act, bias, z, a, stats);
    return;
  }
  // a is z already; with statistics the activation op still reads z once, to summarize it
  // for both slots (writing nothing).
  if (act.kind == Activation::kLinear && a.data() == z.data() && stats == nullptr) return;
  // fanin's activation kernel without bias (summarizing z and a as it writes a), or cuDNN's
  // with BackendOptions::cudnn_activations, as BiasActivationForward would.
  Kernels<ActivationForwardOp>::For(backend)(backend, act, z, a, stats);
}

const bool kRegistered = Kernels<DenseForwardOp>::Register<CudaBackend>(DenseForward);

}  // namespace
}  // namespace fanin::gpu
