// The backend seam: a device runtime. A backend allocates and copies memory, waits for its
// work, records work for replay (CUDA graphs) and describes its device; the numeric ops
// (fanin/ops.h) run on whichever backend their tensors live on, through implementations that
// each backend registers (ops/dispatch.h), so that layers, losses and the model never name a
// concrete backend. Work is enqueued: on an asynchronous backend (CUDA) calls return before it
// is done, and only CopyToHost (hence Tensor::ToHost), Synchronize and ops::Stats wait.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "fanin/tensor.h"

namespace fanin {

struct BackendOptions {
  // Threads for the CPU backend (oneDNN and its large loops; 0: all cores of the machine).
  int num_threads = 0;
  // CUDA: let cuBLAS use TF32 tensor cores for FP32 GEMM (faster, ~1e-3 relative error).
  bool allow_tf32 = false;
  // CUDA: run activations through cuDNN instead of fanin's own fused kernels.
  bool cudnn_activations = false;
  // CUDA: run BatchNormalization's training forward and backward through cuDNN instead of
  // fanin's kernels (whose column sums are in double and deterministic; cuDNN's are in float).
  bool cudnn_batch_norm = false;
  // CUDA: which GPU.
  int device_index = 0;
};

// "cpu", "cuda", or "auto" (cuda when fanin was built with CUDA and a GPU is present,
// else cpu). Throws std::invalid_argument for an unknown name and std::runtime_error
// when "cuda" is asked for and cannot be had (built without CUDA, no GPU).
std::shared_ptr<Backend> MakeBackend(std::string_view device = "cpu",
                                     const BackendOptions& options = {});
// The process-wide CPU backend that holds host-side data (datasets, results).
std::shared_ptr<Backend> HostBackend();
// Whether MakeBackend("cuda") can succeed in this process.
bool CudaAvailable();
// Why it cannot ("fanin was built without the CUDA backend", "no CUDA GPU is visible"), so
// that a program can say what it skipped; empty when it can.
std::string CudaUnavailableReason();

// Backend calls recorded once by Backend::Record and enqueued again by each Replay; valid
// while the backend that recorded them lives. It keeps the recorded closure (and so the
// tensors the closure holds) and, on the GPU, the scratch memory of the recorded calls,
// until it is destroyed.
class RecordedWork {
 public:
  virtual ~RecordedWork() = default;
  // Enqueues the recorded calls again: same memory, same arguments. Does not wait.
  virtual void Replay() = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual std::string_view name() const = 0;  // "cpu", "cuda"
  // A human-readable description of the device ("CPU, 2 threads, oneDNN 3.x", a GPU's name).
  virtual std::string Describe() const = 0;

  // ---- Memory -------------------------------------------------------------------------
  // Storage for `count` floats; the deleter returns it to the backend's allocator.
  virtual std::shared_ptr<float> Allocate(int64_t count) = 0;
  virtual void CopyFromHost(const float* host_src, float* dst, int64_t count) = 0;
  virtual void CopyToHost(const float* src, float* host_dst, int64_t count) = 0;
  virtual void CopyOnDevice(const float* src, float* dst, int64_t count) = 0;
  // Waits for all enqueued work.
  virtual void Synchronize() = 0;
  // Whether an op may take tensors of `other` together with tensors of this backend: the same
  // backend, or (the CPU's) any backend whose tensors are host memory that this one's ops can
  // read and write.
  virtual bool SharesMemoryWith(const Backend& other) const { return &other == this; }

  // ---- Recording --------------------------------------------------------------------------
  // Records the calls `work` makes on this backend, without running them, for replay. The
  // CUDA backend captures them into a CUDA graph, so a replay is one launch however many
  // kernels the work has (what makes a small model's step fast on a GPU); the default keeps
  // `work` and calls it again on each replay. `work` must only enqueue calls on this
  // backend, on memory that already exists: nothing that waits (ToHost, Stats,
  // Synchronize), uploads (CopyFromHost, GatherRows' host indices) or allocates, and no
  // host-side effect that a replay must repeat. The CUDA backend refuses the waits and the
  // uploads with std::logic_error naming the call.
  virtual std::unique_ptr<RecordedWork> Record(std::function<void()> work);
};

}  // namespace fanin
