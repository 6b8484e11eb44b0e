// Batch normalization: a block per column for the training forward and the backward (the
// column's sums over the rows in double, added in a fixed tree order by cuda/block_reduce.cuh,
// then the column written), and a grid-stride pass for inference. A thread reads the column's
// elements with a stride of the row width: uncoalesced, which batch norm's few thousand
// values per column at training batch sizes can afford; a column-tiled layout would not be.
#include "cuda/block_reduce.cuh"
#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "cuda/launch.cuh"
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

void BatchNormForward(Backend& backend, const BatchNormSpec& spec, bool training, const Tensor& x,
                      const Tensor& gamma, const Tensor& beta, Tensor& moving_mean,
                      Tensor& moving_var, Tensor& xhat, Tensor& y, Tensor& inv_std) {
  auto& cuda = static_cast<CudaBackend&>(backend);
  cuda.Activate();
  const int64_t n = x.rows(), k = x.cols();
  if (k == 0) return;
  if (training) {
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
