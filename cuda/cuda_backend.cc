#include "cuda/cuda_backend.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "cuda/check.h"
#include "cuda/kernels.h"
#include "src/backend_registry.h"
#include "src/shape_check.h"

namespace fanin {
namespace gpu {
namespace {

std::string VersionString(int version) {  // major * 10000 + minor * 100 + patch
  return std::to_string(version / 10000) + "." + std::to_string(version / 100 % 100) + "." +
         std::to_string(version % 100);
}

// An instantiated CUDA graph, with everything its replays read and write: the work that
// was captured (and so the tensors its closure holds, as the CPU's default Record keeps
// them) and the allocator pool of its scratch blocks (cuda/block_cache.h).
class CudaGraphWork final : public RecordedWork {
 public:
  CudaGraphWork(int device, cudaStream_t stream, cudaGraphExec_t exec, std::function<void()> work,
                std::shared_ptr<CachingAllocator> allocator, BlockCache::PoolId pool)
      : device_(device),
        stream_(stream),
        exec_(exec),
        work_(std::move(work)),
        allocator_(std::move(allocator)),
        pool_(pool) {}
  ~CudaGraphWork() override {
    // Replays still queued read the pool's blocks and the closure's tensors: let them finish
    // before either goes. A destructor cannot report errors.
    cudaSetDevice(device_);
    cudaStreamSynchronize(stream_);
    cudaGraphExecDestroy(exec_);
    allocator_->ReleasePool(pool_);
  }
  CudaGraphWork(const CudaGraphWork&) = delete;
  CudaGraphWork& operator=(const CudaGraphWork&) = delete;

  void Replay() override {
    FANIN_CUDA_CHECK(cudaSetDevice(device_));
    FANIN_CUDA_CHECK(cudaGraphLaunch(exec_, stream_));
  }

 private:
  int device_;
  cudaStream_t stream_;
  cudaGraphExec_t exec_;
  std::function<void()> work_;
  std::shared_ptr<CachingAllocator> allocator_;
  BlockCache::PoolId pool_;
};

}  // namespace

void CudaBackend::StreamDestroyer::operator()(cudaStream_t stream) const noexcept {
  cudaStreamDestroy(stream);
}
void CudaBackend::CublasDestroyer::operator()(cublasHandle_t handle) const noexcept {
  cublasDestroy(handle);
}

CudaBackend::CudaBackend(const BackendOptions& options)
    : device_(options.device_index), allow_tf32_(options.allow_tf32) {
  Activate();
  cudaStream_t stream = nullptr;
  // Non-blocking: no implicit ordering with the legacy default stream, which fanin never
  // uses; all ordering is this stream's.
  FANIN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  stream_.reset(stream);
  cublasHandle_t cublas = nullptr;
  FANIN_CUDA_CHECK(cublasCreate(&cublas));
  cublas_.reset(cublas);
  FANIN_CUDA_CHECK(cublasSetStream(cublas, stream));
  allocator_ = std::make_shared<CachingAllocator>(device_);
  // A workspace of our own, set after cublasSetStream (which resets it): with it cuBLAS
  // allocates nothing during a graph capture. Sizes from cuBLAS's documentation: 32 MiB on
  // Hopper and later, 4 MiB before.
  cudaDeviceProp prop{};
  FANIN_CUDA_CHECK(cudaGetDeviceProperties(&prop, device_));
  sm_count_ = prop.multiProcessorCount;
  const size_t workspace_bytes = (prop.major >= 9 ? 32 : 4) * (size_t{1} << 20);
  cublas_workspace_ = Allocate(static_cast<int64_t>(workspace_bytes / sizeof(float)));
  FANIN_CUDA_CHECK(cublasSetWorkspace(cublas, cublas_workspace_.get(), workspace_bytes));
  // cuBLASLt (DenseForward) shares it: one stream, so never in use by both at once. Created
  // here, not on first use, so that no handle is created during a capture.
  lt_dense_ = std::make_unique<LtDense>(cublas_workspace_.get(), workspace_bytes);
  uploads_ = std::make_unique<UploadRing>(stream);
  if (options.cudnn_activations) cudnn_ = std::make_unique<CudnnActivations>(stream);

  int runtime = 0, cublas_version = 0;
  FANIN_CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
  FANIN_CUDA_CHECK(cublasGetVersion(cublas, &cublas_version));
  description_ =
      std::string(prop.name) + " (device " + std::to_string(device_) + ", sm_" +
      std::to_string(prop.major) + std::to_string(prop.minor) + ", " +
      std::to_string(prop.multiProcessorCount) + " SMs, " +
      std::to_string(prop.totalGlobalMem >> 20) + " MiB), CUDA " + std::to_string(runtime / 1000) +
      "." + std::to_string(runtime % 1000 / 10) + ", cuBLAS " + VersionString(cublas_version) +
      (allow_tf32_ ? " (TF32)" : " (FP32)") +
      ", activations: " + (cudnn_ ? CudnnActivations::Version() : std::string("fanin kernels"));
}

CudaBackend::~CudaBackend() {
  // Let queued work finish before the members (cuDNN, the upload buffers, cuBLAS, then the
  // stream: reverse declaration order) go; a destructor cannot report errors.
  cudaSetDevice(device_);
  cudaStreamSynchronize(stream_.get());
}

void CudaBackend::Activate() const { FANIN_CUDA_CHECK(cudaSetDevice(device_)); }

void CudaBackend::CheckOwned(const char* op, const char* name, const Tensor& t) const {
  if (t.defined() && &t.backend() == this) return;
  throw std::invalid_argument(
      std::string(op) + ": " + name + " " +
      (t.defined() ? "lives on another backend (" + std::string(t.backend().name()) + ")"
                   : "is an undefined tensor") +
      "; tensors passed to the cuda backend must be allocated by it");
}

void CudaBackend::RefuseWhileRecording(const char* op, const char* why) const {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  FANIN_CUDA_CHECK(cudaStreamIsCapturing(stream_.get(), &status));
  if (status == cudaStreamCaptureStatusNone) return;
  throw std::logic_error(std::string(op) + " cannot be recorded (Backend::Record): " + why);
}

bool CudaBackend::UseCudnn(Activation act) const {
  return cudnn_ != nullptr && CudnnActivations::Supports(act);
}

// ---- Memory -------------------------------------------------------------------------------

std::shared_ptr<float> CudaBackend::Allocate(int64_t count) {
  if (count < 0) throw std::invalid_argument("Allocate: negative count " + std::to_string(count));
  Activate();
  auto* ptr = static_cast<float*>(allocator_->Allocate(sizeof(float) * count));
  return std::shared_ptr<float>(ptr, [allocator = allocator_](float* p) { allocator->Free(p); });
}

// A recorded upload would copy, on every replay, from a pinned staging buffer that the
// ring has since refilled with other data.
constexpr char kUploadInRecording[] =
    "a host-to-device copy goes through a staging buffer that later uploads reuse; copy the "
    "data before recording";
constexpr char kWaitInRecording[] = "it waits for the device, which a recording cannot";

void CudaBackend::CopyFromHost(const float* host_src, float* dst, int64_t count) {
  Activate();
  RefuseWhileRecording("CopyFromHost", kUploadInRecording);
  uploads_->Upload(host_src, dst, sizeof(float) * count);
}

void CudaBackend::CopyToHost(const float* src, float* host_dst, int64_t count) {
  if (count == 0) return;
  Activate();
  RefuseWhileRecording("CopyToHost", kWaitInRecording);
  FANIN_CUDA_CHECK(
      cudaMemcpyAsync(host_dst, src, sizeof(float) * count, cudaMemcpyDeviceToHost, stream_.get()));
  FANIN_CUDA_CHECK(cudaStreamSynchronize(stream_.get()));
}

void CudaBackend::CopyOnDevice(const float* src, float* dst, int64_t count) {
  if (count == 0 || src == dst) return;
  Activate();
  FANIN_CUDA_CHECK(
      cudaMemcpyAsync(dst, src, sizeof(float) * count, cudaMemcpyDeviceToDevice, stream_.get()));
}

void CudaBackend::Synchronize() {
  Activate();
  RefuseWhileRecording("Synchronize", kWaitInRecording);
  FANIN_CUDA_CHECK(cudaStreamSynchronize(stream_.get()));
}

// ---- Fills --------------------------------------------------------------------------------

void CudaBackend::Fill(Tensor& t, float value) {
  CheckOwned("Fill", "t", t);
  Activate();
  LaunchFill(t.data(), t.size(), value, stream_.get());
}

void CudaBackend::FillRandom(Tensor& t, const RandomSpec& spec) {
  CheckOwned("FillRandom", "t", t);
  Activate();
  LaunchFillRandom(t.data(), t.size(), spec, stream_.get());
}

// ---- Linear algebra -----------------------------------------------------------------------

// cuBLAS is column-major. A row-major [r x c] matrix is, byte for byte, the column-major
// [c x r] matrix of its transpose, so the row-major C = op(A) op(B) is computed as the
// column-major C^T = op(B)^T op(A)^T: swap the operands, keep each one's transpose flag,
// and swap m and n. Leading dimensions are the row-major row lengths.
void CudaBackend::Gemm(const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b,
                       float alpha, float beta, Tensor& c) {
  CheckOwned("Gemm", "a", a);
  CheckOwned("Gemm", "b", b);
  CheckOwned("Gemm", "c", c);
  const auto [m, n, k] = CheckGemm(a, transpose_a, b, transpose_b, c);
  if (m == 0 || n == 0) return;
  Activate();
  if (k == 0) {          // c = beta * c, by definition; not every BLAS agrees for k = 0
    if (beta == 0.0f) {  // beta = 0 means "ignore c" (it may hold NaN), not NaN * 0
      Fill(c, 0.0f);
    } else {
      FANIN_CUDA_CHECK(cublasSscal_64(cublas_.get(), c.size(), &beta, c.data(), 1));
    }
    return;
  }
  // FP32 unless the user opted in to TF32 tensor cores (10-bit mantissa inputs).
  const cublasComputeType_t compute =
      allow_tf32_ ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  FANIN_CUDA_CHECK(cublasGemmEx_64(cublas_.get(), transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                   transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha,
                                   b.data(), CUDA_R_32F, b.dim(1), a.data(), CUDA_R_32F, a.dim(1),
                                   &beta, c.data(), CUDA_R_32F, n, compute, CUBLAS_GEMM_DEFAULT));
}

void CudaBackend::Axpy(float alpha, const Tensor& x, Tensor& y) {
  CheckOwned("Axpy", "x", x);
  CheckOwned("Axpy", "y", y);
  CheckSameSize("Axpy", "x", x, "y", y);
  if (x.size() == 0) return;
  Activate();
  FANIN_CUDA_CHECK(cublasSaxpy_64(cublas_.get(), x.size(), &alpha, x.data(), 1, y.data(), 1));
}

// z = x w + bias with the bias added in the GEMM's epilogue (one cuBLASLt call, no second
// pass over z), then a = act(z) by the activation pass alone. cuBLASLt's RELU_BIAS and
// GELU_BIAS epilogues would fuse the activation too, but they write only act(z), and z is
// part of this call's contract (the backward pass reads it); RELU_AUX_BIAS adds only a
// bit-mask of z > 0, not z (cuda/dense_lt.cc). Compiled, not yet run on a GPU.
void CudaBackend::DenseForward(const Tensor& x, const Tensor& w, const Tensor& bias, Activation act,
                               Tensor& z, Tensor& a) {
  const char* op = "DenseForward";
  CheckOwned(op, "x", x);
  CheckOwned(op, "w", w);
  CheckOwned(op, "bias", bias);
  CheckOwned(op, "z", z);
  CheckOwned(op, "a", a);
  const auto [rows, cols, inner] = CheckGemm(x, false, w, false, z);
  CheckBias(op, bias, z);
  CheckSameSize(op, "z", z, "a", a);
  if (rows == 0 || cols == 0) return;
  Activate();
  if (inner == 0) {  // x w is an empty sum: z = 0 + bias, then the activation; no cuBLASLt
    Fill(z, 0.0f);
    BiasActivationForward(act, bias, z, a);
    return;
  }
  if (!lt_dense_->Forward(x.data(), w.data(), bias.data(), z.data(), rows, inner, cols, allow_tf32_,
                          stream_.get())) {
    // cuBLASLt's heuristic offered no algorithm for this shape and these alignments (its
    // epilogue kernels cover fewer cases than cuBLAS's GEMMs, e.g. operands 4-byte aligned
    // inside a flat buffer). The unfused composition computes the same z and a (cuBLAS's
    // GEMM, then + bias, then act), with one more pass over z; the choice is remembered
    // per shape and alignment, so a step takes the same path every time.
    Backend::DenseForward(x, w, bias, act, z, a);
    return;
  }
  if (act == Activation::kLinear && a.data() == z.data()) return;  // a is z already
  // fanin's activation kernel without bias (LaunchBiasActivationForward, bias null), or
  // cuDNN's with BackendOptions::cudnn_activations, as BiasActivationForward would.
  ActivationForward(act, z, a);
}

// ---- Activations --------------------------------------------------------------------------

void CudaBackend::BiasActivationForward(Activation act, const Tensor& bias, Tensor& z, Tensor& a) {
  CheckOwned("BiasActivationForward", "bias", bias);
  CheckOwned("BiasActivationForward", "z", z);
  CheckOwned("BiasActivationForward", "a", a);
  CheckBias("BiasActivationForward", bias, z);
  CheckSameSize("BiasActivationForward", "z", z, "a", a);
  Activate();
  if (UseCudnn(act) && z.size() > 0) {
    cudnn_->AddBias(bias.data(), z.data(), z.rows(), z.cols());
    cudnn_->Forward(act, z.data(), a.data(), z.rows(), z.cols());
  } else {
    LaunchBiasActivationForward(act, bias.data(), z.data(), z.data(), a.data(), z.rows(), z.cols(),
                                stream_.get());
  }
}

void CudaBackend::ActivationForward(Activation act, const Tensor& z, Tensor& a) {
  CheckOwned("ActivationForward", "z", z);
  CheckOwned("ActivationForward", "a", a);
  CheckSameSize("ActivationForward", "z", z, "a", a);
  Activate();
  if (UseCudnn(act) && z.size() > 0) {
    cudnn_->Forward(act, z.data(), a.data(), z.rows(), z.cols());
  } else {
    LaunchBiasActivationForward(act, nullptr, z.data(), nullptr, a.data(), z.rows(), z.cols(),
                                stream_.get());
  }
}

void CudaBackend::ActivationBackward(Activation act, const Tensor& z, const Tensor& a,
                                     const Tensor& da, Tensor& dz, Tensor* bias_grad) {
  const char* op = "ActivationBackward";
  CheckOwned(op, "z", z);
  CheckOwned(op, "a", a);
  CheckOwned(op, "da", da);
  CheckOwned(op, "dz", dz);
  CheckSameSize(op, "z", z, "a", a);
  CheckSameSize(op, "da", da, "dz", dz);
  CheckSameSize(op, "z", z, "dz", dz);
  if (bias_grad != nullptr) {
    CheckOwned(op, "bias_grad", *bias_grad);
    CheckBias(op, *bias_grad, dz);
  }
  Activate();
  float* bias_grad_data = bias_grad != nullptr ? bias_grad->data() : nullptr;
  if (UseCudnn(act) && da.size() > 0) {
    cudnn_->Backward(act, z.data(), a.data(), da.data(), dz.data(), da.rows(), da.cols());
    if (bias_grad_data != nullptr) {
      LaunchColumnSums(dz.data(), da.rows(), da.cols(), bias_grad_data, sm_count_, *allocator_,
                       stream_.get());
    }
  } else {
    LaunchActivationBackward(act, z.data(), a.data(), da.data(), dz.data(), da.rows(), da.cols(),
                             bias_grad_data, sm_count_, *allocator_, stream_.get());
  }
}

// ---- Loss ---------------------------------------------------------------------------------

void CudaBackend::BinaryCrossEntropy(BceInput input, const Tensor& output, const Tensor& labels,
                                     float grad_scale, Tensor* grad, Tensor& totals, int64_t slot) {
  const char* op = "BinaryCrossEntropy";
  CheckOwned(op, "output", output);
  CheckOwned(op, "labels", labels);
  CheckOwned(op, "totals", totals);
  CheckSameSize(op, "output", output, "labels", labels);
  if (grad != nullptr) {
    CheckOwned(op, "grad", *grad);
    CheckSameSize(op, "output", output, "grad", *grad);
  }
  if (slot < 0 || 2 * slot + 1 >= totals.size()) {
    throw std::out_of_range(std::string(op) + ": slot " + std::to_string(slot) +
                            " outside totals " + ShapeToString(totals.shape()));
  }
  Activate();
  LaunchBinaryCrossEntropy(input, output.data(), labels.data(), output.size(), grad_scale,
                           grad != nullptr ? grad->data() : nullptr, totals.data() + 2 * slot,
                           stream_.get());
}

// ---- Optimizers ---------------------------------------------------------------------------

void CudaBackend::SgdUpdate(const SgdStep& step, Tensor& params, const Tensor& grads,
                            Tensor* velocity) {
  CheckOwned("SgdUpdate", "params", params);
  CheckOwned("SgdUpdate", "grads", grads);
  CheckSameSize("SgdUpdate", "params", params, "grads", grads);
  if (step.momentum != 0.0f) {
    if (velocity == nullptr) throw std::invalid_argument("SgdUpdate: momentum needs a velocity");
    CheckOwned("SgdUpdate", "velocity", *velocity);
    CheckSameSize("SgdUpdate", "params", params, "velocity", *velocity);
  }
  Activate();
  LaunchSgdUpdate(step, params.data(), grads.data(),
                  step.momentum != 0.0f ? velocity->data() : nullptr, params.size(), stream_.get());
}

void CudaBackend::AdamUpdate(const AdamStep& step, Tensor& params, const Tensor& grads, Tensor& m,
                             Tensor& v) {
  CheckOwned("AdamUpdate", "params", params);
  CheckOwned("AdamUpdate", "grads", grads);
  CheckOwned("AdamUpdate", "m", m);
  CheckOwned("AdamUpdate", "v", v);
  CheckSameSize("AdamUpdate", "params", params, "grads", grads);
  CheckSameSize("AdamUpdate", "params", params, "m", m);
  CheckSameSize("AdamUpdate", "params", params, "v", v);
  Activate();
  LaunchAdamUpdate(step, params.data(), grads.data(), m.data(), v.data(), params.size(),
                   stream_.get());
}

// ---- Data movement ------------------------------------------------------------------------

void CudaBackend::GatherRows(const Tensor& src, std::span<const int64_t> indices, Tensor& dst) {
  CheckOwned("GatherRows", "src", src);
  CheckOwned("GatherRows", "dst", dst);
  const auto rows = static_cast<int64_t>(indices.size());
  if (dst.rows() != rows || dst.cols() != src.cols()) {
    throw std::invalid_argument("GatherRows: " + std::to_string(rows) + " rows of " +
                                ShapeToString(src.shape()) + " into " + ShapeToString(dst.shape()));
  }
  // Checked on the host: an index out of range would be an illegal address on the device,
  // which poisons the whole CUDA context.
  for (const int64_t i : indices) {
    if (i < 0 || i >= src.rows()) {
      throw std::out_of_range("GatherRows: index " + std::to_string(i) + " outside " +
                              ShapeToString(src.shape()));
    }
  }
  if (rows == 0) return;
  Activate();
  RefuseWhileRecording("GatherRows", kUploadInRecording);
  // One upload of all indices (pinned, asynchronous), then one gather launch.
  ScratchBuffer device_indices(*allocator_, sizeof(int64_t) * rows);
  uploads_->Upload(indices.data(), device_indices.as<void>(), sizeof(int64_t) * rows);
  LaunchGatherRows(src.data(), device_indices.as<int64_t>(), rows, src.cols(), dst.data(),
                   stream_.get());
}

// ---- Statistics ---------------------------------------------------------------------------

std::vector<TensorStats> CudaBackend::Stats(std::span<const Tensor* const> tensors,
                                            const HistogramSpec& histogram) {
  CheckHistogram(histogram);
  std::vector<const float*> data;
  std::vector<int64_t> sizes;
  for (const Tensor* t : tensors) {
    CheckOwned("Stats", "a tensor", *t);
    data.push_back(t->data());
    sizes.push_back(t->size());
  }
  Activate();
  RefuseWhileRecording("Stats", kWaitInRecording);
  return ComputeStats(data, sizes, histogram, *allocator_, stream_.get());
}

// Thread-local capture mode: a call on this thread that is unsafe during capture (a
// synchronization) fails the capture with its own error instead of silently running outside
// the graph. The scratch blocks of the captured calls come from a pool that the graph owns
// (cuda/block_cache.h), and the graph holds `work`, whose closure holds the tensors it uses.
std::unique_ptr<RecordedWork> CudaBackend::Record(std::function<void()> work) {
  Activate();
  cudaStream_t stream = stream_.get();
  const BlockCache::PoolId pool = allocator_->OpenPool();
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  try {
    FANIN_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    try {
      work();
    } catch (...) {
      cudaGraph_t partial = nullptr;
      if (cudaStreamEndCapture(stream, &partial) == cudaSuccess && partial != nullptr) {
        cudaGraphDestroy(partial);
      }
      cudaGetLastError();  // the capture's error is the exception in flight, not a later call's
      throw;
    }
    FANIN_CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
    allocator_->ClosePool();
    // No allocation node can be in the graph (cuBLAS has its workspace, scratch comes from
    // the pool); should a library add one, it is freed before each relaunch instead of
    // making the relaunch fail.
    const cudaError_t status =
        cudaGraphInstantiateWithFlags(&exec, graph, cudaGraphInstantiateFlagAutoFreeOnLaunch);
    cudaGraphDestroy(graph);
    FANIN_CUDA_CHECK(status);
  } catch (...) {
    allocator_->ClosePool();
    allocator_->ReleasePool(pool);  // nothing was recorded, nothing replays
    throw;
  }
  return std::make_unique<CudaGraphWork>(device_, stream, exec, std::move(work), allocator_, pool);
}

}  // namespace gpu

namespace {

// GPUs usable by this process; 0 (never an exception) when there is no driver or no GPU.
int CudaDeviceCount() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // no driver or no GPU: clear the error, report none
    return 0;
  }
  return count;
}

std::shared_ptr<Backend> CreateCudaBackend(const BackendOptions& options) {
  const int count = CudaDeviceCount();
  if (options.device_index < 0 || options.device_index >= count) {
    throw std::runtime_error("CUDA device " + std::to_string(options.device_index) +
                             " requested, but " + std::to_string(count) +
                             " CUDA GPU(s) are usable in this process");
  }
  return std::make_shared<gpu::CudaBackend>(options);
}

// "cuda" for MakeBackend, registered when the library loads (src/backend_registry.h).
const bool kRegistered = internal::RegisterBackend(
    "cuda", {.create = CreateCudaBackend, .device_count = CudaDeviceCount});

}  // namespace

}  // namespace fanin
