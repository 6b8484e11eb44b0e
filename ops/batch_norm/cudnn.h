// cuDNN's batch normalization (BackendOptions::cudnn_batch_norm), the alternative to fanin's
// own kernels for the training forward and the backward, kept per CUDA backend as the op's
// state. The legacy cudnnBatchNormalization* routines, which cuDNN 9 marks deprecated in
// favour of its graph API but still ships; mode CUDNN_BATCHNORM_PER_ACTIVATION on an
// [n x k x 1 x 1] tensor normalizes each of the k features over the n rows, as Keras's axis -1.
#pragma once

#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstdint>

#include "cuda/cuda_backend.h"

namespace fanin::gpu {

class CudnnBatchNorm final : public OpState {
 public:
  // The handle is bound to `stream`. Creating one loads cuDNN's libraries (slow, once).
  explicit CudnnBatchNorm(cudaStream_t stream);
  ~CudnnBatchNorm() override;
  CudnnBatchNorm(const CudnnBatchNorm&) = delete;
  CudnnBatchNorm& operator=(const CudnnBatchNorm&) = delete;

  // y = gamma (x - mean) inv_std + beta over the batch x [n x k], with the batch's mean and
  // inv_std = 1 / sqrt(var + epsilon) (var over n) written to save_mean and save_inv_std [k].
  // cuDNN's running statistics are left alone (its running variance is the unbiased one, not
  // Keras's): the caller steps the moving statistics.
  void TrainForward(double epsilon, const float* x, const float* gamma, const float* beta, float* y,
                    float* save_mean, float* save_inv_std, int64_t n, int64_t k);
  // The training forward's gradients from xhat rather than x: cuDNN normalizes its "x" with
  // the saved mean 0 and inverse std 1 (so xhat stays xhat) and scales by `scale`, which the
  // caller sets to gamma inv_std: dgamma = sum dy xhat, dbeta = sum dy, dx = scale (dy -
  // mean(dy) - xhat mean(dy xhat)). zeros and ones: [k] of 0 and of 1.
  void Backward(const float* dy, const float* xhat, const float* scale, const float* zeros,
                const float* ones, float* dgamma, float* dbeta, float* dx, int64_t n, int64_t k);

 private:
  void SetShapes(int64_t n, int64_t k);
  void Release() noexcept;

  cudnnHandle_t handle_ = nullptr;
  cudnnTensorDescriptor_t data_ = nullptr;    // [n x k x 1 x 1]
  cudnnTensorDescriptor_t params_ = nullptr;  // [1 x k x 1 x 1]
};

// The backend's cuDNN batch normalization when it was created with
// BackendOptions::cudnn_batch_norm; else null (fanin's kernels run it).
CudnnBatchNorm* CudnnBatchNormFor(const CudaBackend& backend);

}  // namespace fanin::gpu
