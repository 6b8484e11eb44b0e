// Batch normalization: a block per column for the training forward and the backward (the
// column's sums over the rows in double, added in a fixed tree order by cuda/block_reduce.cuh,
// then the column written), and a grid-stride pass for inference. A thread reads the column's
// elements with a stride of the row width: uncoalesced, which batch norm's few thousand
// values per column at training batch sizes can afford; a column-tiled layout would not be.
// With BackendOptions::cudnn_batch_norm the training forward and the backward are cuDNN's
// (ops/batch_norm/cudnn.h) around two elementwise kernels of fanin's; inference, one
// elementwise pass that must also write xhat, stays on fanin's kernel, and so does an empty
// batch, which cuDNN's descriptors cannot describe.
#include "cuda/block_reduce.cuh"
#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "cuda/launch.cuh"
#include "cuda/memory.h"
#include "ops/batch_norm/cudnn.h"
#include "ops/batch_norm/op.h"
#include "ops/dispatch.h"

namespace fanin::gpu {
namespace {

constexpr int kColumnThreads = 256;

__global__ void __launch_bounds__(kColumnThreads)
    TrainForwardKernel(BatchNormSpec spec, const float* x, const float* gamma, const float* beta,
                       float* moving_mean, float* moving_var, float* xhat, float* y, float* inv_std,
                       int64_t n, int64_t k) {
  const int64_t j = blockIdx.x;
  double sum = 0.0;
  for (int64_t i = threadIdx.x; i < n; i += kColumnThreads) sum += x[i * k + j];
  const double mean = BlockSum<kColumnThreads>(sum, 0.0).a / static_cast<double>(n);
  double squares = 0.0;
  for (int64_t i = threadIdx.x; i < n; i += kColumnThreads) {
    const double d = x[i * k + j] - mean;
    squares += d * d;
  }
  const double var = BlockSum<kColumnThreads>(squares, 0.0).a / static_cast<double>(n);
  const float mean_f = static_cast<float>(mean);
  const float scale = static_cast<float>(1.0 / sqrt(var + spec.epsilon));
  if (threadIdx.x == 0) {
    inv_std[j] = scale;
    moving_mean[j] = spec.momentum * moving_mean[j] + (1.0f - spec.momentum) * mean_f;
    moving_var[j] =
        spec.momentum * moving_var[j] + (1.0f - spec.momentum) * static_cast<float>(var);
  }
  for (int64_t i = threadIdx.x; i < n; i += kColumnThreads) {
    const float v = (x[i * k + j] - mean_f) * scale;
    xhat[i * k + j] = v;
    y[i * k + j] = gamma[j] * v + beta[j];
  }
}

__global__ void InferForwardKernel(BatchNormSpec spec, const float* x, const float* gamma,
                                   const float* beta, const float* moving_mean,
                                   const float* moving_var, float* xhat, float* y, int64_t n,
                                   int64_t k) {
  for (int64_t e = GridStart(); e < n * k; e += GridStride()) {
    const int64_t j = e % k;
    const float scale =
        static_cast<float>(1.0 / sqrt(static_cast<double>(moving_var[j]) + spec.epsilon));
    const float v = (x[e] - moving_mean[j]) * scale;
    xhat[e] = v;
    y[e] = gamma[j] * v + beta[j];
  }
}

__global__ void __launch_bounds__(kColumnThreads)
    BackwardKernel(const float* dy, const float* xhat, const float* gamma, const float* inv_std,
                   float* dgamma, float* dbeta, float* dx, int64_t n, int64_t k) {
  const int64_t j = blockIdx.x;
  double sum_dy = 0.0, sum_dy_xhat = 0.0;
  for (int64_t i = threadIdx.x; i < n; i += kColumnThreads) {
    sum_dy += dy[i * k + j];
    sum_dy_xhat += static_cast<double>(dy[i * k + j]) * xhat[i * k + j];
  }
  const DoublePair sums = BlockSum<kColumnThreads>(sum_dy, sum_dy_xhat);
  if (threadIdx.x == 0) {
    dgamma[j] = static_cast<float>(sums.b);
    dbeta[j] = static_cast<float>(sums.a);
  }
  if (dx == nullptr || n == 0) return;
  const float mean_dy = static_cast<float>(sums.a / static_cast<double>(n));
  const float mean_dy_xhat = static_cast<float>(sums.b / static_cast<double>(n));
  const float factor = gamma[j] * inv_std[j];
  for (int64_t i = threadIdx.x; i < n; i += kColumnThreads) {
    dx[i * k + j] = factor * (dy[i * k + j] - mean_dy - xhat[i * k + j] * mean_dy_xhat);
  }
}

// After cuDNN's training forward: xhat from the saved mean and inverse std, and the moving
// statistics' momentum step, the batch variance recovered as 1 / inv_std^2 - epsilon (cuDNN's
// own running variance is the unbiased one).
__global__ void CudnnFinishForwardKernel(BatchNormSpec spec, const float* x, const float* mean,
                                         const float* inv_std, float* moving_mean,
                                         float* moving_var, float* xhat, int64_t n, int64_t k) {
  for (int64_t e = GridStart(); e < n * k; e += GridStride()) {
    const int64_t j = e % k;
    xhat[e] = (x[e] - mean[j]) * inv_std[j];
    if (e < k) {
      const double is = inv_std[j];
      const float var = static_cast<float>(1.0 / (is * is) - spec.epsilon);
      moving_mean[j] = spec.momentum * moving_mean[j] + (1.0f - spec.momentum) * mean[j];
      moving_var[j] = spec.momentum * moving_var[j] + (1.0f - spec.momentum) * var;
    }
  }
}

// cuDNN's backward inputs: scale = gamma inv_std, and the saved statistics 0 and 1 that
// leave its "x", xhat, as it is.
__global__ void CudnnBackwardInputsKernel(const float* gamma, const float* inv_std, float* scale,
                                          float* zeros, float* ones, int64_t k) {
  for (int64_t j = GridStart(); j < k; j += GridStride()) {
    scale[j] = gamma[j] * inv_std[j];
    zeros[j] = 0.0f;
    ones[j] = 1.0f;
  }
}

void BatchNormForward(Backend& backend, const BatchNormSpec& spec, bool training, const Tensor& x,
                      const Tensor& gamma, const Tensor& beta, Tensor& moving_mean,
                      Tensor& moving_var, Tensor& xhat, Tensor& y, Tensor& inv_std) {
  auto& cuda = static_cast<CudaBackend&>(backend);
  cuda.Activate();
  const int64_t n = x.rows(), k = x.cols();
  if (k == 0) return;
  CudnnBatchNorm* cudnn = CudnnBatchNormFor(cuda);
  if (training && cudnn != nullptr) {
    ScratchBuffer mean(cuda.allocator(), sizeof(float) * static_cast<size_t>(k));
    cudnn->TrainForward(spec.epsilon, x.data(), gamma.data(), beta.data(), y.data(),
                        mean.as<float>(), inv_std.data(), n, k);
    CudnnFinishForwardKernel<<<BlocksFor(n * k), kThreads, 0, cuda.stream()>>>(
        spec, x.data(), mean.as<float>(), inv_std.data(), moving_mean.data(), moving_var.data(),
        xhat.data(), n, k);
  } else if (training) {
    TrainForwardKernel<<<static_cast<unsigned>(k), kColumnThreads, 0, cuda.stream()>>>(
        spec, x.data(), gamma.data(), beta.data(), moving_mean.data(), moving_var.data(),
        xhat.data(), y.data(), inv_std.data(), n, k);
  } else {
    if (n == 0) return;
    InferForwardKernel<<<BlocksFor(n * k), kThreads, 0, cuda.stream()>>>(
        spec, x.data(), gamma.data(), beta.data(), moving_mean.data(), moving_var.data(),
        xhat.data(), y.data(), n, k);
  }
  FANIN_CUDA_CHECK_LAUNCH();
}

void BatchNormBackward(Backend& backend, const Tensor& dy, const Tensor& xhat, const Tensor& gamma,
                       const Tensor& inv_std, Tensor& dgamma, Tensor& dbeta, Tensor* dx) {
  auto& cuda = static_cast<CudaBackend&>(backend);
  cuda.Activate();
  const int64_t n = dy.rows(), k = dy.cols();
  if (k == 0) return;
  if (CudnnBatchNorm* cudnn = CudnnBatchNormFor(cuda); cudnn != nullptr && n > 0) {
    const auto kk = static_cast<size_t>(k);
    ScratchBuffer inputs(cuda.allocator(), sizeof(float) * 3 * kk);
    ScratchBuffer unused_dx(cuda.allocator(),
                            dx == nullptr ? sizeof(float) * static_cast<size_t>(n) * kk : 0);
    float* scale = inputs.as<float>();
    CudnnBackwardInputsKernel<<<BlocksFor(k), kThreads, 0, cuda.stream()>>>(
        gamma.data(), inv_std.data(), scale, scale + k, scale + 2 * k, k);
    FANIN_CUDA_CHECK_LAUNCH();
    cudnn->Backward(dy.data(), xhat.data(), scale, scale + k, scale + 2 * k, dgamma.data(),
                    dbeta.data(), dx != nullptr ? dx->data() : unused_dx.as<float>(), n, k);
    return;
  }
  BackwardKernel<<<static_cast<unsigned>(k), kColumnThreads, 0, cuda.stream()>>>(
      dy.data(), xhat.data(), gamma.data(), inv_std.data(), dgamma.data(), dbeta.data(),
      dx != nullptr ? dx->data() : nullptr, n, k);
  FANIN_CUDA_CHECK_LAUNCH();
}

using ops::internal::BatchNormBackwardOp;
using ops::internal::BatchNormForwardOp;
using ops::internal::Kernels;
const bool kRegistered = Kernels<BatchNormForwardOp>::Register<CudaBackend>(BatchNormForward) &&
                         Kernels<BatchNormBackwardOp>::Register<CudaBackend>(BatchNormBackward);

}  // namespace
}  // namespace fanin::gpu
