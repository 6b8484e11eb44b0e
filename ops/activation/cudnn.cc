#include "ops/activation/cudnn.h"

#include <optional>
#include <stdexcept>
#include <string>

#include "cuda/check.h"

namespace fanin::gpu {
namespace {

constexpr char kWhat[] = "cuDNN activations";  // in errors

// cuDNN's mode for the activations cuDNN has; none for the others, which run fanin's kernels.
std::optional<cudnnActivationMode_t> Mode(Activation act) {
  switch (act) {
    case Activation::kSigmoid:
      return CUDNN_ACTIVATION_SIGMOID;
    case Activation::kTanh:
      return CUDNN_ACTIVATION_TANH;
    case Activation::kRelu:
      return CUDNN_ACTIVATION_RELU;
    case Activation::kElu:  // x > 0 ? x : coef (exp(x) - 1), coef = alpha
      return CUDNN_ACTIVATION_ELU;
    case Activation::kSilu:  // x sigmoid(beta x), beta = 1
      return CUDNN_ACTIVATION_SWISH;
    default:
      return std::nullopt;
  }
}

}  // namespace

bool CudnnActivations::Supports(Activation act) { return Mode(act).has_value(); }

CudnnActivations::CudnnActivations(cudaStream_t stream) {
  try {
    FANIN_CUDA_CHECK(cudnnCreate(&handle_));
    FANIN_CUDA_CHECK(cudnnSetStream(handle_, stream));
    FANIN_CUDA_CHECK(cudnnCreateTensorDescriptor(&tensor_));
    FANIN_CUDA_CHECK(cudnnCreateTensorDescriptor(&bias_));
    FANIN_CUDA_CHECK(cudnnCreateActivationDescriptor(&activation_));
  } catch (...) {
    Release();
    throw;
  }
}

CudnnActivations::~CudnnActivations() { Release(); }

void CudnnActivations::Release() noexcept {
  if (activation_ != nullptr) cudnnDestroyActivationDescriptor(activation_);
  if (bias_ != nullptr) cudnnDestroyTensorDescriptor(bias_);
  if (tensor_ != nullptr) cudnnDestroyTensorDescriptor(tensor_);
  if (handle_ != nullptr) cudnnDestroy(handle_);
}

void CudnnActivations::SetMatrix(int64_t rows, int64_t cols) {
  FANIN_CUDA_CHECK(cudnnSetTensor4dDescriptor(tensor_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT,
                                              CudnnDim(rows, kWhat), CudnnDim(cols, kWhat), 1, 1));
}

void CudnnActivations::SetActivation(ActivationSpec act) {
  const std::optional<cudnnActivationMode_t> mode = Mode(act.kind);
  if (!mode) {
    throw std::logic_error("cuDNN activations: no cuDNN mode for " + ActivationName(act));
  }
  // NaN in, NaN out; coef is only read by clipped ReLU (its ceiling) and ELU (its alpha).
  FANIN_CUDA_CHECK(
      cudnnSetActivationDescriptor(activation_, *mode, CUDNN_PROPAGATE_NAN, act.alpha));
  if (*mode == CUDNN_ACTIVATION_SWISH) {
    FANIN_CUDA_CHECK(cudnnSetActivationDescriptorSwishBeta(activation_, 1.0));
  }
}

void CudnnActivations::AddBias(const float* bias, float* z, int64_t rows, int64_t cols) {
  SetMatrix(rows, cols);
  FANIN_CUDA_CHECK(cudnnSetTensor4dDescriptor(bias_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1,
                                              CudnnDim(cols, kWhat), 1, 1));
  const float one = 1.0f;
  FANIN_CUDA_CHECK(cudnnAddTensor(handle_, &one, bias_, bias, &one, tensor_, z));
}

void CudnnActivations::Forward(ActivationSpec act, const float* z, float* a, int64_t rows,
                               int64_t cols) {
  SetMatrix(rows, cols);
  SetActivation(act);
  const float one = 1.0f, zero = 0.0f;
  FANIN_CUDA_CHECK(
      cudnnActivationForward(handle_, activation_, &one, tensor_, z, &zero, tensor_, a));
}

void CudnnActivations::Backward(ActivationSpec act, const float* z, const float* a, const float* da,
                                float* dz, int64_t rows, int64_t cols) {
  SetMatrix(rows, cols);
  SetActivation(act);
  const float one = 1.0f, zero = 0.0f;
  // cuDNN's naming: y = act(x), dy = dLoss/dy, dx = dLoss/dx.
  FANIN_CUDA_CHECK(cudnnActivationBackward(handle_, activation_, &one, tensor_, a, tensor_, da,
                                           tensor_, z, &zero, tensor_, dz));
}

namespace {

// Created with the backend (a handle loads cuDNN's libraries: slow, and not allowed during a
// recording), only when asked for.
const int kSlot = RegisterOpState(
    [](CudaBackend& backend, const BackendOptions& options) -> std::unique_ptr<OpState> {
      if (!options.cudnn_activations) return nullptr;
      return std::make_unique<CudnnActivations>(backend.stream());
    });

}  // namespace

CudnnActivations* CudnnActivationsFor(const CudaBackend& backend, ActivationSpec act) {
  auto* cudnn = backend.op_state<CudnnActivations>(kSlot);
  return cudnn != nullptr && CudnnActivations::Supports(act.kind) ? cudnn : nullptr;
}

}  // namespace fanin::gpu
