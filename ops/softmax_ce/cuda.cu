// Softmax + categorical cross-entropy: loss, correct count and gradient of a batch in one
// kernel of one block, each thread taking whole samples (ops/softmax_ce/math.h: the same
// formula as the CPU's) with a stride of the block size, the block adding the threads' double
// sums in a fixed order (ops/loss_totals.cuh). A thread per sample suits the class counts of
// classifiers (up to some hundreds); a vocabulary-sized k would want a block per sample.
#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "cuda/launch.cuh"
#include "ops/dispatch.h"
#include "ops/loss_totals.cuh"
#include "ops/softmax_ce/math.h"
#include "ops/softmax_ce/op.h"

namespace fanin::gpu {
namespace {

constexpr int kSoftmaxCeThreads = 256;
using ops::internal::SampleLoss;
using ops::internal::SmoothedLabel;

template <ClassLabels kLabels>
__global__ void __launch_bounds__(kSoftmaxCeThreads)
    SoftmaxCrossEntropyKernel(SmoothedLabel smooth, const float* logits, const float* labels,
                              int64_t n, int64_t k, int64_t label_cols, float grad_scale,
                              float* grad, float* totals) {
  double loss = 0.0, correct = 0.0;
  for (int64_t i = threadIdx.x; i < n; i += kSoftmaxCeThreads) {
    const SampleLoss r = ops::internal::SoftmaxCrossEntropySample<kLabels>(
        logits + i * k, labels + i * label_cols, k, smooth, grad_scale,
        grad != nullptr ? grad + i * k : nullptr);
    loss += r.loss;
    correct += r.correct;
  }
  WriteLossTotals<kSoftmaxCeThreads>(loss, correct, totals);
}

void SoftmaxCrossEntropy(Backend& backend, ClassLabels labels_kind, float label_smoothing,
                         const Tensor& logits, const Tensor& labels, float grad_scale, Tensor* grad,
                         float* totals) {
  auto& cuda = static_cast<CudaBackend&>(backend);
  cuda.Activate();
  const SmoothedLabel smooth(label_smoothing, static_cast<float>(logits.cols()));
  float* g = grad != nullptr ? grad->data() : nullptr;
  const int64_t n = logits.rows(), k = logits.cols(), label_cols = labels.cols();
  if (labels_kind == ClassLabels::kIndex) {
    SoftmaxCrossEntropyKernel<ClassLabels::kIndex><<<1, kSoftmaxCeThreads, 0, cuda.stream()>>>(
        smooth, logits.data(), labels.data(), n, k, label_cols, grad_scale, g, totals);
  } else {
    SoftmaxCrossEntropyKernel<ClassLabels::kDistribution>
        <<<1, kSoftmaxCeThreads, 0, cuda.stream()>>>(smooth, logits.data(), labels.data(), n, k,
                                                     label_cols, grad_scale, g, totals);
  }
  FANIN_CUDA_CHECK_LAUNCH();
}

__global__ void SoftmaxKernel(float* z, int64_t n, int64_t k) {
  for (int64_t i = GridStart(); i < n; i += GridStride()) {
    ops::internal::SoftmaxSample(z + i * k, k);
  }
}

// One thread per sample, over as many blocks as the samples fill: Predict's batches are larger
// than training's, and no sums cross samples.
void Softmax(Backend& backend, Tensor& z) {
  auto& cuda = static_cast<CudaBackend&>(backend);
  cuda.Activate();
  SoftmaxKernel<<<BlocksFor(z.rows()), kThreads, 0, cuda.stream()>>>(z.data(), z.rows(), z.cols());
  FANIN_CUDA_CHECK_LAUNCH();
}

using ops::internal::Kernels;
using ops::internal::SoftmaxCrossEntropyOp;
using ops::internal::SoftmaxOp;
const bool kRegistered =
    Kernels<SoftmaxCrossEntropyOp>::Register<CudaBackend>(SoftmaxCrossEntropy) &&
    Kernels<SoftmaxOp>::Register<CudaBackend>(Softmax);

}  // namespace
}  // namespace fanin::gpu
