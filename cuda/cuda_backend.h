// The CUDA backend: the runtime that the CUDA implementations of the ops (ops/<op>/cuda.cu)
// run on, one NVIDIA GPU.
//
// Each instance owns a stream; every op enqueues its work on that stream and returns (only
// CopyToHost, Synchronize and ops::Stats wait), so a training step never waits for the GPU.
// cuBLAS is bound to the same stream, device memory comes from the instance's caching
// allocator, and an op's per-backend state (cuBLASLt plans, cuDNN descriptors) is created
// with the backend. See docs/cuda.md for the design.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <memory>
#include <string>
#include <vector>

#include "cuda/memory.h"
#include "fanin/backend.h"

namespace fanin::gpu {

// A recorded upload would copy, on every replay, from a pinned staging buffer that the ring
// has since refilled with other data.
inline constexpr char kUploadInRecording[] =
    "a host-to-device copy goes through a staging buffer that later uploads reuse; copy the "
    "data before recording";
inline constexpr char kWaitInRecording[] = "it waits for the device, which a recording cannot";

class CudaBackend;

// The state an op keeps per backend. Ops register a factory (RegisterOpState); every
// CudaBackend calls each factory once, when it is created, so that no handle or descriptor is
// created during a recording. A factory may return null (the state is not wanted with these
// options).
class OpState {
 public:
  virtual ~OpState() = default;
};
using OpStateFactory = std::unique_ptr<OpState> (*)(CudaBackend& backend,
                                                    const BackendOptions& options);
// Returns the slot of the op's state in every CudaBackend (for CudaBackend::op_state).
int RegisterOpState(OpStateFactory factory);

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

  // Captures `work` on this backend's stream into a CUDA graph, instantiated once.
  std::unique_ptr<RecordedWork> Record(std::function<void()> work) override;

  // ---- For the ops' implementations ---------------------------------------------------
  // Makes this backend's GPU current for the calling thread (cheap; no synchronization).
  void Activate() const;
  // Throws std::logic_error naming `op` and `why` while this backend's stream is being
  // captured by Record.
  void RefuseWhileRecording(const char* op, const char* why) const;
  cudaStream_t stream() const { return stream_.get(); }
  cublasHandle_t cublas() const { return cublas_.get(); }
  CachingAllocator& allocator() const { return *allocator_; }
  UploadRing& uploads() const { return *uploads_; }
  // cuBLAS's workspace, which cuBLASLt may share: one stream, so never in use by both at once.
  void* cublas_workspace() const { return cublas_workspace_.get(); }
  size_t cublas_workspace_bytes() const { return cublas_workspace_bytes_; }
  int sm_count() const { return sm_count_; }  // sizes the reductions' grids
  bool allow_tf32() const { return allow_tf32_; }
  // The state in `slot` (from RegisterOpState), or null when its factory made none.
  template <typename T>
  T* op_state(int slot) const {
    return static_cast<T*>(op_states_[static_cast<size_t>(slot)].get());
  }

 private:
  struct StreamDestroyer {
    void operator()(cudaStream_t stream) const noexcept;
  };
  struct CublasDestroyer {
    void operator()(cublasHandle_t handle) const noexcept;
  };

  int device_;
  int sm_count_ = 0;
  bool allow_tf32_;
  std::string description_;
  // Declaration order is destruction order reversed: the stream outlives its users.
  std::unique_ptr<CUstream_st, StreamDestroyer> stream_;
  std::unique_ptr<cublasContext, CublasDestroyer> cublas_;
  std::shared_ptr<CachingAllocator> allocator_;  // shared with every tensor's deleter
  std::shared_ptr<float> cublas_workspace_;      // cuBLAS's, so that capture allocates nothing
  size_t cublas_workspace_bytes_ = 0;
  std::unique_ptr<UploadRing> uploads_;
  std::vector<std::unique_ptr<OpState>> op_states_;
};

}  // namespace fanin::gpu
