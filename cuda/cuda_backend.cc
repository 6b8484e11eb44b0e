#include "cuda/cuda_backend.h"

#include <cudnn.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "cuda/check.h"
#include "src/backend_registry.h"

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

std::vector<OpStateFactory>& OpStateFactories() {
  static std::vector<OpStateFactory> factories;
  return factories;
}

std::string CudnnVersion() {
  const size_t v = cudnnGetVersion();  // major * 10000 + minor * 100 + patch since cuDNN 9
  return "cuDNN " + VersionString(static_cast<int>(v));
}

}  // namespace

int RegisterOpState(OpStateFactory factory) {
  OpStateFactories().push_back(factory);
  return static_cast<int>(OpStateFactories().size()) - 1;
}

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
  cublas_workspace_bytes_ = (prop.major >= 9 ? 32 : 4) * (size_t{1} << 20);
  cublas_workspace_ = Allocate(static_cast<int64_t>(cublas_workspace_bytes_ / sizeof(float)));
  FANIN_CUDA_CHECK(cublasSetWorkspace(cublas, cublas_workspace_.get(), cublas_workspace_bytes_));
  uploads_ = std::make_unique<UploadRing>(stream);
  for (const OpStateFactory factory : OpStateFactories()) {
    op_states_.push_back(factory(*this, options));
  }

  int runtime = 0, cublas_version = 0;
  FANIN_CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
  FANIN_CUDA_CHECK(cublasGetVersion(cublas, &cublas_version));
  description_ =
      std::string(prop.name) + " (device " + std::to_string(device_) + ", sm_" +
      std::to_string(prop.major) + std::to_string(prop.minor) + ", " +
      std::to_string(prop.multiProcessorCount) + " SMs, " +
      std::to_string(prop.totalGlobalMem >> 20) + " MiB), CUDA " + std::to_string(runtime / 1000) +
      "." + std::to_string(runtime % 1000 / 10) + ", cuBLAS " + VersionString(cublas_version) +
      (allow_tf32_ ? " (TF32)" : " (FP32)") + ", activations: " +
      (options.cudnn_activations ? CudnnVersion() + " where it has them" : "fanin kernels") +
      ", batch norm: " + (options.cudnn_batch_norm ? CudnnVersion() : "fanin kernels");
}

CudaBackend::~CudaBackend() {
  // Let queued work finish before the members (cuDNN, the upload buffers, cuBLAS, then the
  // stream: reverse declaration order) go; a destructor cannot report errors.
  cudaSetDevice(device_);
  cudaStreamSynchronize(stream_.get());
}

void CudaBackend::Activate() const { FANIN_CUDA_CHECK(cudaSetDevice(device_)); }

void CudaBackend::RefuseWhileRecording(const char* op, const char* why) const {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  FANIN_CUDA_CHECK(cudaStreamIsCapturing(stream_.get(), &status));
  if (status == cudaStreamCaptureStatusNone) return;
  throw std::logic_error(std::string(op) + " cannot be recorded (Backend::Record): " + why);
}

// ---- Memory -------------------------------------------------------------------------------

std::shared_ptr<float> CudaBackend::Allocate(int64_t count) {
  if (count < 0) throw std::invalid_argument("Allocate: negative count " + std::to_string(count));
  Activate();
  auto* ptr = static_cast<float*>(allocator_->Allocate(sizeof(float) * count));
  return std::shared_ptr<float>(ptr, [allocator = allocator_](float* p) { allocator->Free(p); });
}

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
