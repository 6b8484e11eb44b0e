// Binary cross-entropy: loss, correct count and gradient of a batch in one kernel.
//
// The kernel is one block: each thread walks the batch with a stride of the block size,
// computing each sample's loss and gradient (forward and backward together, since both
// need the same sigmoid/log terms) and accumulating its share of the loss in double; the
// block then adds the threads' sums in a fixed tree order (ops/loss_totals.cuh). One launch, no
// atomics, no second pass, and the same bits every run. One block streams a few hundred thousand
// samples in well under the time of the GEMMs that produced them; batches are far smaller.
// grad may alias output: each element is read before the same thread writes it.
#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "ops/bce/op.h"
#include "ops/dispatch.h"
#include "ops/loss_math.h"
#include "ops/loss_totals.cuh"

namespace fanin::gpu {
namespace {

constexpr int kBceThreads = 512;
using ops::internal::kProbabilityEpsilon;
using ops::internal::SmoothedLabel;
using ops::internal::StableSigmoid;

struct SampleResult {
  float loss;
  float grad;  // dLoss/doutput
};

// From logits z: loss = max(z,0) - z y + log1p(exp(-|z|)) (= -y log s - (1-y) log(1-s) with
// s = sigmoid(z), rearranged so that no exp overflows and no log sees 0); dLoss/dz = s - y.
__device__ __forceinline__ SampleResult FromLogits(float z, float y) {
  const float loss = fmaxf(z, 0.0f) - z * y + log1pf(expf(-fabsf(z)));
  return {loss, StableSigmoid(z) - y};
}

// From probabilities p, clipped to [eps, 1 - eps] like Keras: loss = -y log p - (1-y)
// log(1-p), dLoss/dp = (p - y) / (p (1 - p)); the clip passes no gradient where it clips.
// fminf/fmaxf would turn a NaN p into a clip bound; it stays NaN, as on the CPU.
__device__ __forceinline__ SampleResult FromProbabilities(float p, float y) {
  const float clipped =
      p != p ? p : fminf(fmaxf(p, kProbabilityEpsilon), 1.0f - kProbabilityEpsilon);
  const float loss = -(y * logf(clipped) + (1.0f - y) * logf(1.0f - clipped));
  const bool outside = p < kProbabilityEpsilon || p > 1.0f - kProbabilityEpsilon;
  const float grad = outside ? 0.0f : (clipped - y) / (clipped * (1.0f - clipped));
  return {loss, grad};
}

template <BceInput kInput>
__global__ void __launch_bounds__(kBceThreads)
    BinaryCrossEntropyKernel(SmoothedLabel smooth, const float* output, const float* labels,
                             int64_t n, float grad_scale, float* grad, float* totals) {
  double loss = 0.0, correct = 0.0;
  for (int64_t i = threadIdx.x; i < n; i += kBceThreads) {
    const float y = smooth(labels[i]);
    const SampleResult r =
        kInput == BceInput::kLogits ? FromLogits(output[i], y) : FromProbabilities(output[i], y);
    // Against the label before smoothing; a NaN output is never correct.
    const float threshold = kInput == BceInput::kLogits ? 0.0f : 0.5f;
    correct += output[i] == output[i] && (output[i] > threshold) == (labels[i] >= 0.5f);
    loss += r.loss;
    if (grad != nullptr) grad[i] = r.grad * grad_scale;
  }
  WriteLossTotals<kBceThreads>(loss, correct, totals);
}

void BinaryCrossEntropy(Backend& backend, BceInput input, float label_smoothing,
                        const Tensor& output, const Tensor& labels, float grad_scale, Tensor* grad,
                        float* totals) {
  auto& cuda = static_cast<CudaBackend&>(backend);
  cuda.Activate();
  const SmoothedLabel smooth(label_smoothing, 2.0f);
  float* g = grad != nullptr ? grad->data() : nullptr;
  const int64_t n = output.size();
  if (input == BceInput::kLogits) {
    BinaryCrossEntropyKernel<BceInput::kLogits><<<1, kBceThreads, 0, cuda.stream()>>>(
        smooth, output.data(), labels.data(), n, grad_scale, g, totals);
  } else {
    BinaryCrossEntropyKernel<BceInput::kProbabilities><<<1, kBceThreads, 0, cuda.stream()>>>(
        smooth, output.data(), labels.data(), n, grad_scale, g, totals);
  }
  FANIN_CUDA_CHECK_LAUNCH();
}

using ops::internal::BinaryCrossEntropyOp;
using ops::internal::Kernels;
const bool kRegistered = Kernels<BinaryCrossEntropyOp>::Register<CudaBackend>(BinaryCrossEntropy);

}  // namespace
}  // namespace fanin::gpu
