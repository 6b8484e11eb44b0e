#include "ops/batch_norm/cudnn.h"

#include <memory>

#include "cuda/check.h"

// The legacy batch-norm routines are deprecated in cuDNN 9, which still ships them; the graph
// API's batch norm needs the cuDNN frontend, which Debian does not package.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace fanin::gpu {
namespace {

constexpr char kWhat[] = "cuDNN batch norm";  // in errors

constexpr cudnnBatchNormMode_t kMode = CUDNN_BATCHNORM_PER_ACTIVATION;

}  // namespace

CudnnBatchNorm::CudnnBatchNorm(cudaStream_t stream) {
  try {
    FANIN_CUDA_CHECK(cudnnCreate(&handle_));
    FANIN_CUDA_CHECK(cudnnSetStream(handle_, stream));
    FANIN_CUDA_CHECK(cudnnCreateTensorDescriptor(&data_));
    FANIN_CUDA_CHECK(cudnnCreateTensorDescriptor(&params_));
  } catch (...) {
    Release();
    throw;
  }
}

CudnnBatchNorm::~CudnnBatchNorm() { Release(); }

void CudnnBatchNorm::Release() noexcept {
  if (params_ != nullptr) cudnnDestroyTensorDescriptor(params_);
  if (data_ != nullptr) cudnnDestroyTensorDescriptor(data_);
  if (handle_ != nullptr) cudnnDestroy(handle_);
}

void CudnnBatchNorm::SetShapes(int64_t n, int64_t k) {
  FANIN_CUDA_CHECK(cudnnSetTensor4dDescriptor(data_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT,
                                              CudnnDim(n, kWhat), CudnnDim(k, kWhat), 1, 1));
  FANIN_CUDA_CHECK(cudnnDeriveBNTensorDescriptor(params_, data_, kMode));
}

void CudnnBatchNorm::TrainForward(double epsilon, const float* x, const float* gamma,
                                  const float* beta, float* y, float* save_mean,
                                  float* save_inv_std, int64_t n, int64_t k) {
  SetShapes(n, k);
  const float one = 1.0f, zero = 0.0f;
  // Running mean and variance null (both, as cuDNN allows): no moving-average step.
  FANIN_CUDA_CHECK(cudnnBatchNormalizationForwardTraining(
      handle_, kMode, &one, &zero, data_, x, data_, y, params_, gamma, beta,
      /*exponentialAverageFactor=*/0.0, nullptr, nullptr, epsilon, save_mean, save_inv_std));
}

void CudnnBatchNorm::Backward(const float* dy, const float* xhat, const float* scale,
                              const float* zeros, const float* ones, float* dgamma, float* dbeta,
                              float* dx, int64_t n, int64_t k) {
  SetShapes(n, k);
  const float one = 1.0f, zero = 0.0f;
  // With the saved statistics given, cuDNN reads its epsilon nowhere; the smallest it takes.
  FANIN_CUDA_CHECK(cudnnBatchNormalizationBackward(
      handle_, kMode, &one, &zero, &one, &zero, data_, xhat, data_, dy, data_, dx, params_, scale,
      dgamma, dbeta, CUDNN_BN_MIN_EPSILON, zeros, ones));
}

namespace {

// Created with the backend (a handle loads cuDNN's libraries: slow, and not allowed during a
// recording), only when asked for.
const int kSlot = RegisterOpState(
    [](CudaBackend& backend, const BackendOptions& options) -> std::unique_ptr<OpState> {
      if (!options.cudnn_batch_norm) return nullptr;
      return std::make_unique<CudnnBatchNorm>(backend.stream());
    });

}  // namespace

CudnnBatchNorm* CudnnBatchNormFor(const CudaBackend& backend) {
  return backend.op_state<CudnnBatchNorm>(kSlot);
}

}  // namespace fanin::gpu
