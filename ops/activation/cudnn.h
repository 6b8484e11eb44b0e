// cuDNN's activation routines, the runtime-selectable alternative to fanin's own kernels
// (BackendOptions::cudnn_activations), kept per CUDA backend as the activation op's state.
//
// cuDNN has no identity for cudnnActivationForward/Backward (CUDNN_ACTIVATION_IDENTITY
// is only for the fused convolution), so linear stays on fanin's kernels.
#pragma once

#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstdint>
#include <string>

#include "cuda/cuda_backend.h"
#include "fanin/activation.h"

namespace fanin::gpu {

class CudnnActivations final : public OpState {
 public:
  // The handle is bound to `stream`. Creating one loads cuDNN's libraries (slow, once).
  explicit CudnnActivations(cudaStream_t stream);
  ~CudnnActivations() override;
  CudnnActivations(const CudnnActivations&) = delete;
  CudnnActivations& operator=(const CudnnActivations&) = delete;

  // Whether cuDNN computes `act` itself (sigmoid, tanh, relu, elu with its alpha, silu as swish
  // with beta 1); the others run fanin's kernels.
  static bool Supports(Activation act);

  // z [rows x cols] += bias [cols] broadcast over rows (cudnnAddTensor).
  void AddBias(const float* bias, float* z, int64_t rows, int64_t cols);
  // a = act(z); a may equal z.
  void Forward(ActivationSpec act, const float* z, float* a, int64_t rows, int64_t cols);
  // dz = da * act'(z), given z and a = act(z); dz may equal da.
  void Backward(ActivationSpec act, const float* z, const float* a, const float* da, float* dz,
                int64_t rows, int64_t cols);

 private:
  // tensor_ := a packed [rows x cols] matrix (NCHW with H = W = 1).
  void SetMatrix(int64_t rows, int64_t cols);
  void SetActivation(ActivationSpec act);
  void Release() noexcept;

  cudnnHandle_t handle_ = nullptr;
  cudnnTensorDescriptor_t tensor_ = nullptr;
  cudnnTensorDescriptor_t bias_ = nullptr;
  cudnnActivationDescriptor_t activation_ = nullptr;
};

// The backend's cuDNN activations when it was created with BackendOptions::cudnn_activations
// and cuDNN has `act`; else null (fanin's kernels run it).
CudnnActivations* CudnnActivationsFor(const CudaBackend& backend, ActivationSpec act);

}  // namespace fanin::gpu
