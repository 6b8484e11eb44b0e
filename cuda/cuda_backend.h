// The CUDA backend: fanin's Backend on one NVIDIA GPU.
//
// Each instance owns a stream; every call enqueues its work on that stream and returns
// (only CopyToHost, Stats and Synchronize wait), so a training step never waits for the
// GPU. cuBLAS (and cuDNN, when chosen) are bound to the same stream, and device memory
// comes from the instance's caching allocator. See docs/cuda.md for the design.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <memory>
#include <string>

#include "cuda/cudnn_activation.h"
#include "cuda/dense_lt.h"
#include "cuda/memory.h"
#include "fanin/backend.h"

namespace fanin::gpu {

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(const BackendOptions& options);
  ~CudaBackend() override;

  std::string_view name() const override { return "cuda"; }
  std::string Describe() const override { return description_; }

  std::shared_ptr<float> Allocate(int64_t count) override;
  void CopyFromHost(const float* host_src, float* dst, int64_t count) override;
  void CopyToHost(const float* src, float* host_dst, int64_t count) override;
  void CopyOnDevice(const float* src, float* dst, int64_t count) override;
  void Synchronize() override;

  void Fill(Tensor& t, float value) override;
  void FillRandom(Tensor& t, const RandomSpec& spec) override;

  void Gemm(const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b, float alpha,
            float beta, Tensor& c) override;
  void Axpy(float alpha, const Tensor& x, Tensor& y) override;
  // The bias fused into the GEMM by cuBLASLt (cuda/dense_lt.h), then the activation.
  void DenseForward(const Tensor& x, const Tensor& w, const Tensor& bias, Activation act, Tensor& z,
                    Tensor& a) override;

  void BiasActivationForward(Activation act, const Tensor& bias, Tensor& z, Tensor& a) override;
  void ActivationForward(Activation act, const Tensor& z, Tensor& a) override;
  void ActivationBackward(Activation act, const Tensor& z, const Tensor& a, const Tensor& da,
                          Tensor& dz, Tensor* bias_grad) override;

  void BinaryCrossEntropy(BceInput input, const Tensor& output, const Tensor& labels,
                          float grad_scale, Tensor* grad, Tensor& totals, int64_t slot) override;

  void SgdUpdate(const SgdStep& step, Tensor& params, const Tensor& grads,
                 Tensor* velocity) override;
  void AdamUpdate(const AdamStep& step, Tensor& params, const Tensor& grads, Tensor& m,
                  Tensor& v) override;

  void GatherRows(const Tensor& src, std::span<const int64_t> indices, Tensor& dst) override;

  std::vector<TensorStats> Stats(std::span<const Tensor* const> tensors,
                                 const HistogramSpec& histogram) override;

  // Captures `work` on this backend's stream into a CUDA graph, instantiated once.
  std::unique_ptr<RecordedWork> Record(std::function<void()> work) override;

 private:
  struct StreamDestroyer {
    void operator()(cudaStream_t stream) const noexcept;
  };
  struct CublasDestroyer {
    void operator()(cublasHandle_t handle) const noexcept;
  };

  // Makes this backend's GPU current for the calling thread (cheap; no synchronization).
  void Activate() const;
  // Throws std::invalid_argument unless `t` is a tensor of this backend: a host pointer
  // handed to a kernel would be an illegal address, fatal to the whole CUDA context.
  void CheckOwned(const char* op, const char* name, const Tensor& t) const;
  // Throws std::logic_error naming `op` and `why` while this backend's stream is being
  // captured by Record.
  void RefuseWhileRecording(const char* op, const char* why) const;
  // Whether cuDNN computes `act` (cudnn_activations set, and cuDNN has the function).
  bool UseCudnn(Activation act) const;

  int device_;
  int sm_count_ = 0;  // sizes the reductions' grids
  bool allow_tf32_;
  std::string description_;
  // Declaration order is destruction order reversed: the stream outlives its users.
  std::unique_ptr<CUstream_st, StreamDestroyer> stream_;
  std::unique_ptr<cublasContext, CublasDestroyer> cublas_;
  std::shared_ptr<CachingAllocator> allocator_;  // shared with every tensor's deleter
  std::shared_ptr<float> cublas_workspace_;      // cuBLAS's, so that capture allocates nothing
  std::unique_ptr<UploadRing> uploads_;
  std::unique_ptr<CudnnActivations> cudnn_;  // only with BackendOptions::cudnn_activations
  std::unique_ptr<LtDense> lt_dense_;        // DenseForward's GEMMs; uses cublas_workspace_
};

}  // namespace fanin::gpu
