#include "cuda/memory.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "cuda/check.h"

namespace fanin::gpu {
namespace {

constexpr size_t kSmallStep = 512;
constexpr size_t kLargeStep = size_t{1} << 20;

size_t SizeClass(size_t bytes) {
  const size_t step = bytes < kLargeStep ? kSmallStep : kLargeStep;
  return (bytes + step - 1) / step * step;
}

std::string MiB(size_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

}  // namespace

CachingAllocator::CachingAllocator(int device) : device_(device) {}

CachingAllocator::~CachingAllocator() {
  // Errors are ignored here: at process exit the runtime may already be unloading.
  cudaSetDevice(device_);
  // No block is in use any more: every tensor's deleter holds a reference to this allocator.
  for (const auto& [size, ptr] : cached_) cudaFree(ptr);
}

void* CachingAllocator::Allocate(size_t bytes) {
  if (bytes == 0) return nullptr;
  const size_t size = SizeClass(bytes);
  std::lock_guard lock(mutex_);
  if (auto it = cached_.find(size); it != cached_.end()) {
    void* ptr = it->second;
    cached_.erase(it);
    in_use_.emplace(ptr, size);
    return ptr;
  }
  FANIN_CUDA_CHECK(cudaSetDevice(device_));
  void* ptr = nullptr;
  cudaError_t status = cudaMalloc(&ptr, size);
  if (status == cudaErrorMemoryAllocation && !cached_.empty()) {
    cudaGetLastError();  // clear the error before retrying
    ReleaseCachedLocked();
    status = cudaMalloc(&ptr, size);
  }
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    size_t free_bytes = 0, total_bytes = 0;
    FANIN_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    throw std::runtime_error("CUDA out of memory on device " + std::to_string(device_) +
                             ": requested " + std::to_string(size) + " bytes (" + MiB(size) +
                             "), " + std::to_string(free_bytes) + " bytes free (" +
                             MiB(free_bytes) + ") of " + MiB(total_bytes));
  }
  FANIN_CUDA_CHECK(status);
  in_use_.emplace(ptr, size);
  return ptr;
}

void CachingAllocator::Free(void* ptr) noexcept {
  if (ptr == nullptr) return;
  std::lock_guard lock(mutex_);
  auto it = in_use_.find(ptr);
  if (it == in_use_.end()) return;  // not ours; nothing safe to do in a deleter
  cached_.emplace(it->second, ptr);
  in_use_.erase(it);
}

void CachingAllocator::ReleaseCachedLocked() {
  // cudaFree waits for the device, so blocks still read by queued kernels are safe.
  for (const auto& [size, ptr] : cached_) FANIN_CUDA_CHECK(cudaFree(ptr));
  cached_.clear();
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
