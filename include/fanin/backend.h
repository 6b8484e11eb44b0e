// The backend seam: every numeric primitive the layers, losses and optimizers need.
//
// Layers, losses and the model only talk to this interface, never to a concrete backend,
// so a model trains on the CPU or on a GPU by changing the backend it is given. All
// tensors passed to one backend must live on that backend. Calls enqueue work: on an
// asynchronous backend (CUDA) they return before the work is done, and only the calls
// that return host values (CopyToHost, hence Tensor::ToHost; Stats) and Synchronize wait.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fanin/activation.h"
#include "fanin/ops.h"
#include "fanin/random.h"
#include "fanin/tensor.h"

namespace fanin {

struct BackendOptions {
  // Threads for the CPU backend (oneDNN and its large loops; 0: all cores of the machine).
  int num_threads = 0;
  // CUDA: let cuBLAS use TF32 tensor cores for FP32 GEMM (faster, ~1e-3 relative error).
  bool allow_tf32 = false;
  // CUDA: run activations through cuDNN instead of fanin's own fused kernels.
  bool cudnn_activations = false;
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
  // A human-readable description of the device ("CPU, 2 threads, OpenBLAS", a GPU's name).
  virtual std::string Describe() const = 0;

  // ---- Memory -------------------------------------------------------------------------
  // Storage for `count` floats; the deleter returns it to the backend's allocator.
  virtual std::shared_ptr<float> Allocate(int64_t count) = 0;
  virtual void CopyFromHost(const float* host_src, float* dst, int64_t count) = 0;
  virtual void CopyToHost(const float* src, float* host_dst, int64_t count) = 0;
  virtual void CopyOnDevice(const float* src, float* dst, int64_t count) = 0;
  // Waits for all enqueued work.
  virtual void Synchronize() = 0;

  // ---- Fills --------------------------------------------------------------------------
  virtual void Fill(Tensor& t, float value) = 0;
  // Element i of t gets the i-th value of the Philox stream described in random.h.
  virtual void FillRandom(Tensor& t, const RandomSpec& spec) = 0;

  // ---- Linear algebra -----------------------------------------------------------------
  // c = alpha * op(a) * op(b) + beta * c for 2-D tensors, op = transpose when asked.
  virtual void Gemm(const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b,
                    float alpha, float beta, Tensor& c) = 0;
  // A dense layer's forward pass: z = x w + bias (bias [k] broadcast over the n rows of
  // z [n x k]), then a = act(z); `a` may alias `z`. One call, so that a backend can fuse the
  // bias into the GEMM's output pass (the CPU backend does); the default composes Gemm and
  // BiasActivationForward.
  virtual void DenseForward(const Tensor& x, const Tensor& w, const Tensor& bias, Activation act,
                            Tensor& z, Tensor& a);
  // y += alpha * x (same size).
  virtual void Axpy(float alpha, const Tensor& x, Tensor& y) = 0;

  // ---- Activations ----------------------------------------------------------------------
  // z [n x k] += bias [k] broadcast over rows, then a = act(z). `a` may alias `z`.
  virtual void BiasActivationForward(Activation act, const Tensor& bias, Tensor& z, Tensor& a) = 0;
  // a = act(z). `a` may alias `z`.
  virtual void ActivationForward(Activation act, const Tensor& z, Tensor& a) = 0;
  // dz = da * act'(z), with act' computed from z or from a = act(z) as is cheaper; and,
  // when bias_grad is given, bias_grad [k] = sum over rows of dz [n x k]. dz may alias da.
  virtual void ActivationBackward(Activation act, const Tensor& z, const Tensor& a,
                                  const Tensor& da, Tensor& dz, Tensor* bias_grad) = 0;

  // ---- Loss -----------------------------------------------------------------------------
  // Binary cross-entropy of `output` [n x 1] against `labels` [n x 1] (0 or 1, or soft).
  // Writes totals[2*slot] = sum over the n samples of the loss and totals[2*slot+1] = the
  // number of correct predictions (output above 0 for logits, 0.5 for probabilities,
  // compared with label >= 0.5); and, when grad is given, grad = dLoss_i/doutput_i *
  // grad_scale (for logits: (sigmoid(z) - y) * grad_scale). Summation order is fixed.
  virtual void BinaryCrossEntropy(BceInput input, const Tensor& output, const Tensor& labels,
                                  float grad_scale, Tensor* grad, Tensor& totals, int64_t slot) = 0;

  // ---- Optimizers (one call over a whole flat parameter buffer) -------------------------
  // velocity may be null when step.momentum == 0.
  virtual void SgdUpdate(const SgdStep& step, Tensor& params, const Tensor& grads,
                         Tensor* velocity) = 0;
  virtual void AdamUpdate(const AdamStep& step, Tensor& params, const Tensor& grads, Tensor& m,
                          Tensor& v) = 0;

  // ---- Data movement --------------------------------------------------------------------
  // dst row r = src row indices[r] (indices are host values, each in [0, src.rows())).
  virtual void GatherRows(const Tensor& src, std::span<const int64_t> indices, Tensor& dst) = 0;

  // ---- Statistics -----------------------------------------------------------------------
  // Statistics of each tensor, computed where the tensors live; one wait for all of them.
  virtual std::vector<TensorStats> Stats(std::span<const Tensor* const> tensors,
                                         const HistogramSpec& histogram) = 0;

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
