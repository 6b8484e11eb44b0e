#include "cuda/memory.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "cuda/check.h"

namespace fanin::gpu {
namespace {

std::string MiB(size_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

// cudaMalloc, allowed while this thread's stream is being captured: the allocation is not
// part of the graph (the block is a plain device allocation the graph's kernels address),
// and cudaMalloc is only "unsafe" in capture because it may synchronize, which it does not
// need to for a capturing stream's work. PyTorch's caching allocator does the same.
void* DeviceMalloc(int device, size_t bytes) {
  cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
  FANIN_CUDA_CHECK(cudaThreadExchangeStreamCaptureMode(&mode));
  cudaSetDevice(device);
  void* ptr = nullptr;
  const cudaError_t status = cudaMalloc(&ptr, bytes);
  cudaThreadExchangeStreamCaptureMode(&mode);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // out of memory is an answer here, not a sticky error
    return nullptr;
  }
  FANIN_CUDA_CHECK(status);
  return ptr;
}

}  // namespace

// Blocks are freed at destruction, when no tensor holds one any more (each tensor's deleter
// holds a reference to the allocator). Errors are ignored there: at process exit the runtime
// may already be unloading. cudaFree waits for the device, so queued kernels finish first.
CachingAllocator::CachingAllocator(int device)
    : device_(device),
      cache_({.allocate = [device](size_t bytes) { return DeviceMalloc(device, bytes); },
              .release =
                  [device](void* block) {
                    cudaSetDevice(device);
                    cudaFree(block);
                  }}) {}

void* CachingAllocator::Allocate(size_t bytes) {
  void* ptr = cache_.Allocate(bytes);
  if (ptr != nullptr || bytes == 0) return ptr;
  const size_t size = BlockCache::SizeClass(bytes);
  size_t free_bytes = 0, total_bytes = 0;
  FANIN_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  throw std::runtime_error("CUDA out of memory on device " + std::to_string(device_) +
                           ": requested " + std::to_string(size) + " bytes (" + MiB(size) + "), " +
                           std::to_string(free_bytes) + " bytes free (" + MiB(free_bytes) +
                           ") of " + MiB(total_bytes));
}

UploadRing::UploadRing(cudaStream_t stream) : stream_(stream) {
  for (Slot& slot : slots_) {
    FANIN_CUDA_CHECK(cudaEventCreateWithFlags(&slot.done, cudaEventDisableTiming));
  }
}

UploadRing::~UploadRing() {
  for (Slot& slot : slots_) {
    if (slot.done != nullptr) {
      cudaEventSynchronize(slot.done);
      cudaEventDestroy(slot.done);
    }
    if (slot.pinned != nullptr) cudaFreeHost(slot.pinned);
  }
}

void UploadRing::Upload(const void* host, void* device, size_t bytes) {
  std::lock_guard lock(mutex_);
  // Larger uploads go in kMaxBytes chunks, each through the next buffer.
  for (size_t offset = 0; offset < bytes; offset += kMaxBytes) {
    const size_t chunk = std::min(kMaxBytes, bytes - offset);
    Slot& slot = slots_[next_];
    next_ = (next_ + 1) % kSlots;
    // An event never recorded counts as complete, so the first round does not wait.
    FANIN_CUDA_CHECK(cudaEventSynchronize(slot.done));
    if (slot.capacity < chunk) {
      if (slot.pinned != nullptr) FANIN_CUDA_CHECK(cudaFreeHost(slot.pinned));
      slot.pinned = nullptr;
      slot.capacity = 0;
      size_t capacity = size_t{64} << 10;
      while (capacity < chunk) capacity *= 2;
      FANIN_CUDA_CHECK(cudaHostAlloc(&slot.pinned, capacity, cudaHostAllocDefault));
      slot.capacity = capacity;
    }
    std::memcpy(slot.pinned, static_cast<const char*>(host) + offset, chunk);
    FANIN_CUDA_CHECK(cudaMemcpyAsync(static_cast<char*>(device) + offset, slot.pinned, chunk,
                                     cudaMemcpyHostToDevice, stream_));
    FANIN_CUDA_CHECK(cudaEventRecord(slot.done, stream_));
  }
}

}  // namespace fanin::gpu
