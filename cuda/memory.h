// Device memory for one CUDA backend: a caching allocator and pinned upload buffers.
//
// Both belong to one backend instance and so to one stream. That is what makes the cache
// safe without events: a block freed on the host while kernels that read it are still
// queued can be handed out again at once, because any later use of it is work enqueued
// later on the same stream, which runs after those kernels.
#pragma once

#include <cuda_runtime_api.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>

namespace fanin::gpu {

// cudaMalloc'd blocks are kept after use and handed out again for requests of the same
// size class (512-byte steps below 1 MiB, 1 MiB steps above), so a training loop, which
// allocates the same sizes every step, stops calling cudaMalloc/cudaFree after its first
// step. On out-of-memory the cache is released and the allocation retried once; if it
// still fails, std::runtime_error names the bytes requested and the bytes free.
class CachingAllocator {
 public:
  explicit CachingAllocator(int device);
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // At least `bytes` bytes, 256-byte aligned; nullptr for 0 bytes.
  void* Allocate(size_t bytes);
  // Returns a block from Allocate to the cache. Never throws (it runs in deleters).
  void Free(void* ptr) noexcept;

 private:
  void ReleaseCachedLocked();

  int device_;
  std::mutex mutex_;
  std::unordered_map<void*, size_t> in_use_;  // block -> its size class in bytes
  std::multimap<size_t, void*> cached_;       // free blocks by size class
};

// A block from a CachingAllocator for the duration of a scope (kernel scratch space).
// Returning it before the kernels that use it have run is safe: see the top of this file.
class ScratchBuffer {
 public:
  ScratchBuffer(CachingAllocator& allocator, size_t bytes)
      : allocator_(allocator), ptr_(allocator.Allocate(bytes)) {}
  ~ScratchBuffer() { allocator_.Free(ptr_); }
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;

  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }

 private:
  CachingAllocator& allocator_;
  void* ptr_;
};

// Host-to-device copies that do not wait for the stream. cudaMemcpyAsync from pageable
// memory may first wait for the stream (the driver stages the data through its own pinned
// buffer), so uploads are copied into one of kSlots pinned buffers of up to kMaxBytes,
// used in turn, and sent from there. Before a buffer is refilled we wait on the event
// recorded after its previous copy, kSlots chunks ago: the only wait, and it merely keeps
// the host from running more than kSlots uploads ahead of the device. A large upload (a
// whole data set) streams through the buffers chunk by chunk.
class UploadRing {
 public:
  explicit UploadRing(cudaStream_t stream);
  ~UploadRing();
  UploadRing(const UploadRing&) = delete;
  UploadRing& operator=(const UploadRing&) = delete;

  // Enqueues a copy of `bytes` bytes; `host` may be reused on return.
  void Upload(const void* host, void* device, size_t bytes);

 private:
  static constexpr size_t kMaxBytes = size_t{4} << 20;
  static constexpr int kSlots = 8;
  struct Slot {
    void* pinned = nullptr;
    size_t capacity = 0;
    cudaEvent_t done = nullptr;
  };
  cudaStream_t stream_;
  std::array<Slot, kSlots> slots_;
  int next_ = 0;
  std::mutex mutex_;
};

}  // namespace fanin::gpu
