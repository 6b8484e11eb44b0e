// Mean squared and absolute error: loss, metric and gradient of a batch in one kernel of one
// block, each thread taking whole samples (ops/regression_loss/math.h: the CPU's formula)
// with a stride of the block size, the block adding the threads' double sums in a fixed
// order (ops/loss_totals.cuh).
#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "ops/dispatch.h"
#include "ops/loss_totals.cuh"
#include "ops/regression_loss/math.h"
#include "ops/regression_loss/op.h"

namespace fanin::gpu {
namespace {

constexpr int kRegressionThreads = 256;
using ops::internal::SampleErrors;

template <ErrorKind kKind>
__global__ void __launch_bounds__(kRegressionThreads)
    RegressionLossKernel(const float* output, const float* targets, int64_t n, int64_t k,
                         float grad_scale, float* grad, float* totals) {
  double loss = 0.0, metric = 0.0;
  for (int64_t i = threadIdx.x; i < n; i += kRegressionThreads) {
    const SampleErrors e = ops::internal::RegressionSample<kKind>(
        output + i * k, targets + i * k, k, grad_scale, grad != nullptr ? grad + i * k : nullptr);
    loss += e.loss;
    metric += e.metric;
  }
  WriteLossTotals<kRegressionThreads>(loss, metric, totals);
}

void RegressionLoss(Backend& backend, ErrorKind kind, const Tensor& output, const Tensor& targets,
                    float grad_scale, Tensor* grad, float* totals) {
  auto& cuda = static_cast<CudaBackend&>(backend);
  cuda.Activate();
  float* g = grad != nullptr ? grad->data() : nullptr;
  const int64_t n = output.rows(), k = output.cols();
  if (kind == ErrorKind::kSquared) {
    RegressionLossKernel<ErrorKind::kSquared><<<1, kRegressionThreads, 0, cuda.stream()>>>(
        output.data(), targets.data(), n, k, grad_scale, g, totals);
  } else {
    RegressionLossKernel<ErrorKind::kAbsolute><<<1, kRegressionThreads, 0, cuda.stream()>>>(
        output.data(), targets.data(), n, k, grad_scale, g, totals);
  }
  FANIN_CUDA_CHECK_LAUNCH();
}

using ops::internal::Kernels;
using ops::internal::RegressionLossOp;
const bool kRegistered = Kernels<RegressionLossOp>::Register<CudaBackend>(RegressionLoss);

}  // namespace
}  // namespace fanin::gpu
