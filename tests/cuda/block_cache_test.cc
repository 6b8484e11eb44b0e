// The rules of the CUDA allocator's bookkeeping (cuda/block_cache.h), on a fake device, so
// they run on every machine: a block that a recorded graph addresses is never handed to
// anyone else, nor freed to answer an out-of-memory, while the recording lives.
#include "cuda/block_cache.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

namespace fanin::gpu {
namespace {

// Heap memory standing in for the device, with a byte budget to make out-of-memory happen.
struct FakeDevice {
  size_t budget = 1 << 20;
  size_t used = 0;
  std::map<void*, size_t> live;  // block -> bytes

  BlockCache::Device Functions() {
    return {.allocate = [this](size_t bytes) -> void* {
              if (used + bytes > budget) return nullptr;
              used += bytes;
              void* block = std::malloc(bytes);
              live.emplace(block, bytes);
              return block;
            },
            .release =
                [this](void* block) {
                  used -= live.at(block);
                  live.erase(block);
                  std::free(block);
                }};
  }
};

TEST(BlockCacheTest, ReusesFreedBlocksOfTheSameSizeClass) {
  FakeDevice device;
  BlockCache cache(device.Functions());
  void* a = cache.Allocate(1000);
  cache.Free(a);
  EXPECT_EQ(cache.Allocate(1020), a) << "1000 and 1020 bytes share the 1024-byte class";
  EXPECT_NE(cache.Allocate(1000), a);
  EXPECT_EQ(BlockCache::SizeClass(1), 512u);
  EXPECT_EQ(BlockCache::SizeClass((size_t{1} << 20) + 1), size_t{2} << 20);
}

// The defect of issue 11: scratch freed during a capture went back to the shared cache while
// the graph kept writing it, so the next tensor of that size (another model's step totals)
// was overwritten on every replay.
TEST(BlockCacheTest, ScratchFreedDuringARecordingStaysWithTheRecording) {
  FakeDevice device;
  BlockCache cache(device.Functions());
  const BlockCache::PoolId pool = cache.OpenPool();
  void* scratch = cache.Allocate(4096);
  cache.Free(scratch);  // the capture's ScratchBuffer goes out of scope
  EXPECT_EQ(cache.Allocate(4096), scratch) << "reused within the same recording";
  cache.Free(scratch);
  cache.ClosePool();
  EXPECT_EQ(cache.PoolBlocks(pool), 1u);
  void* later = cache.Allocate(4096);
  EXPECT_NE(later, scratch) << "a block the recorded graph writes was handed out";
  cache.ReleasePool(pool);  // the recording is destroyed
  EXPECT_EQ(cache.Allocate(4096), scratch) << "released blocks return to the shared cache";
  cache.Free(later);
}

// A block cached before the recording may serve it (work enqueued later runs after every
// earlier use); it then belongs to the recording.
TEST(BlockCacheTest, ARecordingTakesSharedBlocksAndKeepsThem) {
  FakeDevice device;
  BlockCache cache(device.Functions());
  void* cached = cache.Allocate(512);
  cache.Free(cached);
  const BlockCache::PoolId pool = cache.OpenPool();
  EXPECT_EQ(cache.Allocate(512), cached);
  cache.Free(cached);
  cache.ClosePool();
  EXPECT_EQ(cache.CachedBlocks(), 0u);
  EXPECT_NE(cache.Allocate(512), cached);
  cache.ReleasePool(pool);
  EXPECT_EQ(cache.CachedBlocks(), 1u);
}

// Out of memory releases the shared cache and retries, but never frees a recording's blocks.
TEST(BlockCacheTest, OutOfMemoryNeverFreesARecordingsBlocks) {
  FakeDevice device;
  device.budget = 3000;
  BlockCache cache(device.Functions());
  const BlockCache::PoolId pool = cache.OpenPool();
  void* recorded = cache.Allocate(1024);
  cache.Free(recorded);
  cache.ClosePool();
  void* shared = cache.Allocate(1024);
  cache.Free(shared);
  EXPECT_EQ(device.live.size(), 2u);
  // 2048 more bytes fit only if both cached blocks go; only the shared one may.
  EXPECT_EQ(cache.Allocate(2048), nullptr);
  EXPECT_TRUE(device.live.count(recorded)) << "a block the recorded graph uses was freed";
  EXPECT_FALSE(device.live.count(shared));
  cache.ReleasePool(pool);
}

// While a recording is open, out of memory is reported at once: freeing device memory waits
// for the device, which a capture forbids.
TEST(BlockCacheTest, OutOfMemoryDuringARecordingReleasesNothing) {
  FakeDevice device;
  device.budget = 1024;
  BlockCache cache(device.Functions());
  void* shared = cache.Allocate(1024);
  cache.Free(shared);
  const BlockCache::PoolId pool = cache.OpenPool();
  EXPECT_EQ(cache.Allocate(2048), nullptr);
  EXPECT_TRUE(device.live.count(shared));
  cache.ClosePool();
  cache.ReleasePool(pool);
}

// A tensor allocated during the recording and freed after the recording is gone goes to the
// shared cache.
TEST(BlockCacheTest, BlocksInUseWhenTheRecordingIsReleasedBecomeShared) {
  FakeDevice device;
  BlockCache cache(device.Functions());
  const BlockCache::PoolId pool = cache.OpenPool();
  void* tensor = cache.Allocate(512);
  cache.ClosePool();
  cache.ReleasePool(pool);
  cache.Free(tensor);
  EXPECT_EQ(cache.CachedBlocks(), 1u);
  EXPECT_EQ(cache.Allocate(512), tensor);
}

}  // namespace
}  // namespace fanin::gpu
