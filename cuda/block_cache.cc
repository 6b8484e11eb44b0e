#include "cuda/block_cache.h"

#include <utility>

namespace fanin::gpu {
namespace {

constexpr size_t kSmallStep = 512;
constexpr size_t kLargeStep = size_t{1} << 20;

}  // namespace

size_t BlockCache::SizeClass(size_t bytes) {
  const size_t step = bytes < kLargeStep ? kSmallStep : kLargeStep;
  return (bytes + step - 1) / step * step;
}

BlockCache::BlockCache(Device device) : device_(std::move(device)) {}

BlockCache::~BlockCache() {
  for (const auto& [size, block] : shared_) device_.release(block);
  for (const auto& [id, list] : pools_) {
    for (const auto& [size, block] : list) device_.release(block);
  }
}

void* BlockCache::Take(FreeList& list, size_t size, PoolId pool) {
  auto it = list.find(size);
  if (it == list.end()) return nullptr;
  void* block = it->second;
  list.erase(it);
  in_use_.emplace(block, InUse{size, pool});
  return block;
}

void* BlockCache::Allocate(size_t bytes) {
  if (bytes == 0) return nullptr;
  const size_t size = SizeClass(bytes);
  std::lock_guard lock(mutex_);
  if (open_ != 0) {
    // A pool takes its own free blocks first, then the shared cache's: a block cached there
    // is used by nothing now, and work enqueued later on the stream runs after its last use.
    if (void* block = Take(pools_[open_], size, open_)) return block;
  }
  if (void* block = Take(shared_, size, open_)) return block;
  void* block = device_.allocate(size);
  if (block == nullptr && open_ == 0 && !shared_.empty()) {
    ReleaseSharedLocked();
    block = device_.allocate(size);
  }
  if (block != nullptr) in_use_.emplace(block, InUse{size, open_});
  return block;
}

void BlockCache::Free(void* block) noexcept {
  if (block == nullptr) return;
  std::lock_guard lock(mutex_);
  auto it = in_use_.find(block);
  if (it == in_use_.end()) return;  // not ours; nothing safe to do in a deleter
  const auto [size, pool] = it->second;
  in_use_.erase(it);
  auto owner = pools_.find(pool);
  (owner != pools_.end() ? owner->second : shared_).emplace(size, block);
}

BlockCache::PoolId BlockCache::OpenPool() {
  std::lock_guard lock(mutex_);
  open_ = next_pool_++;
  pools_[open_];
  return open_;
}

void BlockCache::ClosePool() noexcept {
  std::lock_guard lock(mutex_);
  open_ = 0;
}

void BlockCache::ReleasePool(PoolId pool) noexcept {
  std::lock_guard lock(mutex_);
  auto it = pools_.find(pool);
  if (it == pools_.end()) return;
  shared_.merge(it->second);
  pools_.erase(it);
  if (open_ == pool) open_ = 0;
  // A block of the pool still in use is shared from now on (Free finds no pool).
  for (auto& [block, use] : in_use_) {
    if (use.pool == pool) use.pool = 0;
  }
}

size_t BlockCache::CachedBlocks() const {
  std::lock_guard lock(mutex_);
  return shared_.size();
}

size_t BlockCache::PoolBlocks(PoolId pool) const {
  std::lock_guard lock(mutex_);
  auto it = pools_.find(pool);
  return it == pools_.end() ? 0 : it->second.size();
}

void BlockCache::ReleaseSharedLocked() {
  for (const auto& [size, block] : shared_) device_.release(block);
  shared_.clear();
}

}  // namespace fanin::gpu
