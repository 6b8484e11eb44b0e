// Binary cross-entropy: loss, correct count and gradient of a batch in one kernel.
//
// The kernel is one block: each thread walks the batch with a stride of the block size,
// computing each sample's loss and gradient (forward and backward together, since both
// need the same sigmoid/log terms) and accumulating its share of the loss in double; the
// block then adds the threads' sums in a fixed tree order. One launch, no atomics, no
// second pass, and the same bits every run. One block streams a few hundred thousand
// samples in well under the time of the GEMMs that produced them; batches are far smaller.
// grad may alias output: each element is read before the same thread writes it.
#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "ops/bce/op.h"
#include "ops/dispatch.h"

namespace fanin::gpu {
namespace {

constexpr int kBceThreads = 512;
using ops::internal::kProbabilityEpsilon;

struct SampleResult {
  float loss;
  float grad;  // dLoss/doutput
  bool correct;
};

// sigmoid(z) without overflow for any z (the CPU backend's formula).
__device__ __forceinline__ float StableSigmoid(float z) {
  if (z >= 0.0f) return 1.0f / (1.0f + expf(-z));
  const float e = expf(z);
  return e / (1.0f + e);
}

// From logits z: loss = max(z,0) - z y + log1p(exp(-|z|)) (= -y log s - (1-y) log(1-s) with
// s = sigmoid(z), rearranged so that no exp overflows and no log sees 0); dLoss/dz = s - y.
__device__ __forceinline__ SampleResult FromLogits(float z, float y) {
  const float loss = fmaxf(z, 0.0f) - z * y + log1pf(expf(-fabsf(z)));
  return {loss, StableSigmoid(z) - y, z == z && (z > 0.0f) == (y >= 0.5f)};
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
  return {loss, grad, p == p && (p > 0.5f) == (y >= 0.5f)};
}

template <BceInput kInput>
__global__ void __launch_bounds__(kBceThreads)
    BinaryCrossEntropyKernel(const float* output, const float* labels, int64_t n, float grad_scale,
                             float* grad, float* totals) {
  __shared__ double loss_sum[kBceThreads];
  __shared__ long long correct_sum[kBceThreads];
  double loss = 0.0;
  long long correct = 0;
  for (int64_t i = threadIdx.x; i < n; i += kBceThreads) {
    const SampleResult r = kInput == BceInput::kLogits ? FromLogits(output[i], labels[i])
                                                       : FromProbabilities(output[i], labels[i]);
    loss += r.loss;
    correct += r.correct;
    if (grad != nullptr) grad[i] = r.grad * grad_scale;
  }
  loss_sum[threadIdx.x] = loss;
  correct_sum[threadIdx.x] = correct;
  __syncthreads();
  for (int half = kBceThreads / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) {
      loss_sum[threadIdx.x] += loss_sum[threadIdx.x + half];
      correct_sum[threadIdx.x] += correct_sum[threadIdx.x + half];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    totals[0] = static_cast<float>(loss_sum[0]);
    totals[1] = static_cast<float>(correct_sum[0]);
  }
}

void LaunchBinaryCrossEntropy(BceInput input, const float* output, const float* labels, int64_t n,
                              float grad_scale, float* grad, float* totals, cudaStream_t stream) {
  if (input == BceInput::kLogits) {
    BinaryCrossEntropyKernel<BceInput::kLogits>
        <<<1, kBceThreads, 0, stream>>>(output, labels, n, grad_scale, grad, totals);
  } else {
    BinaryCrossEntropyKernel<BceInput::kProbabilities>
        <<<1, kBceThreads, 0, stream>>>(output, labels, n, grad_scale, grad, totals);
  }
  FANIN_CUDA_CHECK_LAUNCH();
}

void BinaryCrossEntropy(Backend& backend, BceInput input, const Tensor& output,
                        const Tensor& labels, float grad_scale, Tensor* grad, float* totals) {
  auto& cuda = static_cast<CudaBackend&>(backend);
  cuda.Activate();
  LaunchBinaryCrossEntropy(input, output.data(), labels.data(), output.size(), grad_scale,
                           grad != nullptr ? grad->data() : nullptr, totals, cuda.stream());
}

using ops::internal::BinaryCrossEntropyOp;
using ops::internal::Kernels;
const bool kRegistered = Kernels<BinaryCrossEntropyOp>::Register<CudaBackend>(BinaryCrossEntropy);

}  // namespace
}  // namespace fanin::gpu
