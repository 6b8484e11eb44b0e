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
#include <mutex>

#include "cuda/block_cache.h"

namespace fanin::gpu {

// Device memory from cudaMalloc, cached and pooled by a BlockCache (cuda/block_cache.h:
// size classes, and the pools that recorded graphs own). On out-of-memory the cache is
// released and the allocation retried once; if it still fails, std::runtime_error names the
// bytes requested and the bytes free.
class CachingAllocator {
 public:
  explicit CachingAllocator(int device);
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // At least `bytes` bytes, 256-byte aligned; nullptr for 0 bytes.
  void* Allocate(size_t bytes);
  // Returns a block from Allocate to the cache. Never throws (it runs in deleters).
  void Free(void* ptr) noexcept { cache_.Free(ptr); }

  // See BlockCache: the pool a recording's allocations come from and stay in.
  BlockCache::PoolId OpenPool() { return cache_.OpenPool(); }
  void ClosePool() noexcept { cache_.ClosePool(); }
  void ReleasePool(BlockCache::PoolId pool) noexcept { cache_.ReleasePool(pool); }

 private:
  int device_;
  BlockCache cache_;
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
