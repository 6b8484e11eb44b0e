// The bookkeeping of the CUDA backend's caching allocator (cuda/memory.h), free of CUDA so
// that its rules are tested on any machine (tests/cuda/block_cache_test.cc).
//
// Blocks are kept after use and handed out again for requests of the same size class
// (512-byte steps below 1 MiB, 1 MiB steps above), so a training loop, which allocates the
// same sizes every step, stops calling the device allocator after its first step.
//
// Recording. A recorded CUDA graph writes, on every replay, the addresses its kernels were
// captured with, long after the capture has returned its scratch blocks. Such a block must
// never reach anyone else while the graph lives. So while a pool is open (Record opens one
// around the capture), every allocation is served from that pool, and a block freed into a
// pool stays in it: only the pool's own later allocations reuse it. The recorded work owns
// the pool and releases it (ReleasePool) when it is destroyed; its blocks then return to the
// shared cache. Releasing the cache to answer an out-of-memory never touches a pool's blocks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>

namespace fanin::gpu {

class BlockCache {
 public:
  // The device's allocator: `allocate` returns nullptr when out of memory; `release` frees.
  struct Device {
    std::function<void*(size_t bytes)> allocate;
    std::function<void(void* block)> release;
  };
  using PoolId = uint64_t;

  explicit BlockCache(Device device);
  ~BlockCache();  // releases every cached block (pools' included); none may be in use
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  // A block of at least `bytes` (its size class); nullptr for 0 bytes, or when the device is
  // out of memory even after releasing the shared cache (not done while a pool is open:
  // freeing device memory would wait for the device, which a capture forbids).
  void* Allocate(size_t bytes);
  // Returns a block from Allocate to the shared cache, or to its pool. Never throws.
  void Free(void* block) noexcept;

  // Opens a pool: until ClosePool, Allocate serves from it. One pool is open at a time.
  PoolId OpenPool();
  void ClosePool() noexcept;
  // The pool's free blocks go to the shared cache; blocks of it still in use go there when
  // freed. Call once the work that uses the pool's blocks can no longer be enqueued.
  void ReleasePool(PoolId pool) noexcept;

  static size_t SizeClass(size_t bytes);
  // For tests and diagnostics: blocks held by the shared cache, and by `pool`, unused.
  size_t CachedBlocks() const;
  size_t PoolBlocks(PoolId pool) const;

 private:
  using FreeList = std::multimap<size_t, void*>;  // free blocks by size class
  struct InUse {
    size_t size;
    PoolId pool;  // 0: the shared cache
  };
  void* Take(FreeList& list, size_t size, PoolId pool);
  void ReleaseSharedLocked();

  Device device_;
  mutable std::mutex mutex_;
  std::unordered_map<void*, InUse> in_use_;
  FreeList shared_;
  std::unordered_map<PoolId, FreeList> pools_;
  PoolId open_ = 0;
  PoolId next_pool_ = 1;
};

}  // namespace fanin::gpu
