// The fused statistics on the GPU (.cu files only): what every kernel that summarizes a tensor
// shares, so that ops::Summarize (ops/stats/cuda.cu), the activations' forward
// (ops/activation/cuda.cu) and the optimizers (ops/sgd/cuda.cu, ops/adam/cuda.cu) write their
// slots with the same code. The CPU's TensorSummary (ops/stats/cpu.h) is the specification:
// the same slot (ops/stats/slot.h), the same counts (NaN, Inf, zeros, v < lo or v > hi), the
// same min and max of the finite values (+Inf and -Inf when there are none), the same log2
// bins (of every value, NaN and Inf included), and the sums of d = v - shift and d^2 over the
// finite values in double, shift = ShiftOf(the tensor's first value) (0 for an update).
//
// Two kernels per summarized pass, and no floating-point atomics:
//   1. the pass itself (the op's own kernel, which writes the tensor, or Summarize's, which
//      only reads it) on a grid fixed by n alone: block b owns the values
//      [b span, (b + 1) span), span = SummarySpan(n), a multiple of kThreads; thread t takes
//      the values b span + t + j kThreads, j = 0, 1, ... in that order, into a per-thread
//      partial (doubles for the sums); the block's 256 partials are added by a fixed tree
//      (warp shuffles 16, 8, 4, 2, 1, then the 8 warps' totals the same way) and the block
//      writes its partial to scratch. Nothing in the partition depends on the GPU (not even
//      its SM count), on timing or on the other tensors: the same n gives the same partition
//      on any GPU.
//   2. CombineSummariesKernel: one block per slot; thread t adds the partials t, t + 256, ...
//      in that order, the block's threads are added by the same fixed tree, and thread 0
//      writes the whole slot.
// Every double addition thus happens in an order fixed by n, and the one multiply-add is an
// explicit fma (nothing is left to the compiler's contraction, which could differ between the
// sm_80 and sm_90 code), so the same input gives the same bits on every run and every GPU.
// The bits differ from the CPU's, which adds in another (equally fixed) order: counts, min,
// max and bins are equal, the sums agree to the rounding of their order, a few n 2^-53 of
// sum |d| (docs/design.md's bound). (Which zero is the min or max when both signs occur may
// differ, as between the CPU's two paths.)
//
// The log2 histogram is exact integer counting, so atomics are fine there: each block counts
// into shared memory (a warp's values that fall in one bin are first gathered by
// __match_any_sync, so that a layer whose values span a few octaves does not serialize 32
// increments on one counter), then adds its nonzero bins to the slot's int64 bins with one
// 64-bit integer atomic each. The bins are cleared on the stream first (cudaMemsetAsync), since
// the blocks add into them.
//
// Everything is enqueued on the backend's stream and nothing waits: the StatsBuffer is read
// once per recorded step (StatsBuffer::Read). The tables of slots and segments are kernel
// arguments, not uploads, so a summarized pass can also be captured in a CUDA graph.
#pragma once

#include <cstdint>
#include <cstring>

#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "cuda/launch.cuh"
#include "cuda/memory.h"
#include "fanin/ops.h"
#include "ops/stats/slot.h"

// Internal linkage for all of it: each .cu is its own translation unit (no -rdc), and a
// __global__ function with external linkage defined in a header would be defined, host stub and
// all, in every one that includes it (ld: multiple definition).
namespace fanin::gpu {
namespace {

// ---- The partition: a function of n alone ------------------------------------------------------

// Values per block: 8 per thread up to kMaxSummaryBlocks blocks (enough to keep every SM of
// an H100 busy from about 2M values on), then more per thread, so that the partials stay few
// (the combine reads at most kMaxSummaryBlocks of them per slot, 16 per thread).
inline constexpr int64_t kSummaryQuantum = int64_t{kThreads} * 8;
inline constexpr int64_t kMaxSummaryBlocks = 4096;
FANIN_HOST_DEVICE inline int64_t SummarySpan(int64_t n) {
  const int64_t needed = (n + kMaxSummaryBlocks - 1) / kMaxSummaryBlocks;
  return needed <= kSummaryQuantum
             ? kSummaryQuantum
             : (needed + kSummaryQuantum - 1) / kSummaryQuantum * kSummaryQuantum;
}
// 0 for n = 0 (the combine then writes an empty slot).
FANIN_HOST_DEVICE inline int64_t SummaryBlocks(int64_t n) {
  return n <= 0 ? 0 : (n + SummarySpan(n) - 1) / SummarySpan(n);
}

// ---- Per thread ----------------------------------------------------------------------------------

// One thread's, one block's or one tensor's statistics before they become a slot.
struct SummaryPartial {
  double sum;     // of d = v - shift, finite v
  double sum_sq;  // of d^2
  long long nan, inf, zeros, saturated;
  float min, max;  // of the finite values
};

__device__ inline SummaryPartial EmptyPartial() {
  return {0.0, 0.0, 0, 0, 0, 0, INFINITY, -INFINITY};
}

// What one value adds (TensorSummary's MaskedChunk, value by value): NaN and Inf are
// counted and add nothing to the sums, min and max; zeros are +0 and -0; NaN is never
// saturated, an infinity is when the band is finite.
__device__ __forceinline__ void Accumulate(SummaryPartial& p, float v, double shift,
                                           const SaturationBand& band) {
  const bool finite = isfinite(v);
  p.nan += isnan(v);
  p.inf += isinf(v);
  p.zeros += v == 0.0f;
  p.saturated += (v < band.lo) | (v > band.hi);
  const double d = finite ? static_cast<double>(v) - shift : 0.0;
  p.sum += d;
  p.sum_sq = fma(d, d, p.sum_sq);  // fused by name: no contraction left to the compiler
  p.min = finite ? fminf(p.min, v) : p.min;
  p.max = finite ? fmaxf(p.max, v) : p.max;
}

// a += b. Integer counts and min/max are exact in any order; the sums are added in the order
// the callers fix.
__device__ __forceinline__ void Merge(SummaryPartial& a, const SummaryPartial& b) {
  a.sum += b.sum;
  a.sum_sq += b.sum_sq;
  a.nan += b.nan;
  a.inf += b.inf;
  a.zeros += b.zeros;
  a.saturated += b.saturated;
  a.min = fminf(a.min, b.min);
  a.max = fmaxf(a.max, b.max);
}

// ---- Per block: a fixed tree ---------------------------------------------------------------------

inline constexpr int kSummaryWarps = kThreads / 32;
static_assert(kThreads % 32 == 0 && kSummaryWarps <= 32);

// Lane 0 gets lane 0 + lane 16, then + lane 8, ... : the same tree in every warp, every run.
__device__ inline SummaryPartial WarpReduce(SummaryPartial p) {
  constexpr unsigned kAll = 0xffffffffu;
  for (int offset = 16; offset > 0; offset /= 2) {
    SummaryPartial other;
    other.sum = __shfl_down_sync(kAll, p.sum, offset);
    other.sum_sq = __shfl_down_sync(kAll, p.sum_sq, offset);
    other.nan = __shfl_down_sync(kAll, p.nan, offset);
    other.inf = __shfl_down_sync(kAll, p.inf, offset);
    other.zeros = __shfl_down_sync(kAll, p.zeros, offset);
    other.saturated = __shfl_down_sync(kAll, p.saturated, offset);
    other.min = __shfl_down_sync(kAll, p.min, offset);
    other.max = __shfl_down_sync(kAll, p.max, offset);
    Merge(p, other);
  }
  return p;
}

// The block's kThreads partials added by a fixed tree; the result is valid in thread 0.
// Every thread of the block must call it (it synchronizes); `warp_totals` is shared memory
// of kSummaryWarps partials, free again when it returns.
__device__ inline SummaryPartial BlockReduce(const SummaryPartial& mine,
                                             SummaryPartial* warp_totals) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const SummaryPartial total = WarpReduce(mine);
  if (lane == 0) warp_totals[warp] = total;
  __syncthreads();
  SummaryPartial result = EmptyPartial();
  if (warp == 0) result = WarpReduce(lane < kSummaryWarps ? warp_totals[lane] : EmptyPartial());
  __syncthreads();
  return result;
}

// ---- The log2 histogram, per block ---------------------------------------------------------------

__device__ inline void ClearBins(unsigned* bins, int count) {
  for (int b = threadIdx.x; b < count; b += kThreads) bins[b] = 0;
}

// Counts v in `bins` (shared memory) when `valid`. Every lane of the warp must call it
// together (the loops below keep their iterations warp-uniform): lanes whose values share a
// bin elect one of them, which adds their number.
__device__ __forceinline__ void CountBin(unsigned* bins, float v, bool valid) {
  const int bin = valid ? ops::internal::Log2Bin(v) : -1;
  const unsigned peers = __match_any_sync(0xffffffffu, bin);
  if (valid && static_cast<int>(threadIdx.x % 32) == __ffs(peers) - 1) {
    atomicAdd(bins + bin, static_cast<unsigned>(__popc(peers)));
  }
}

// Adds the block's counts (after a __syncthreads that ends the counting) to a slot's bins.
__device__ inline void FlushBins(const unsigned* block_bins, unsigned long long* bins) {
  for (int b = threadIdx.x; b < kLog2Bins; b += kThreads) {
    if (block_bins[b] != 0) atomicAdd(bins + b, static_cast<unsigned long long>(block_bins[b]));
  }
}

// ---- The combine: one block per slot -------------------------------------------------------------

// A slot to write from the partials of one tensor: partials[(first_block + b) stride + k] for
// b < blocks (stride: the partials a block of the pass writes, one per tensor it summarizes).
struct SummaryTarget {
  ops::internal::StatsSlot* slot;
  const float* shift;  // the shift is ShiftOf(*shift) (device memory), or 0 when null
  int64_t count;       // the tensor's values
  uint32_t first_block;
  uint32_t blocks;
  int32_t stride;
  int32_t k;
};
// Kernel arguments (by value: nothing to upload, so a recording can capture them); 48 x 40
// bytes keeps the launch's arguments under 2 kB.
inline constexpr int kMaxSummaryTargets = 48;
struct SummaryTargets {
  SummaryTarget target[kMaxSummaryTargets];
  int count = 0;
};

__global__ void CombineSummariesKernel(const SummaryPartial* __restrict__ partials,
                                       const SummaryTargets targets) {
  __shared__ SummaryPartial warp_totals[kSummaryWarps];
  const SummaryTarget t = targets.target[blockIdx.x];
  SummaryPartial mine = EmptyPartial();
  for (uint32_t b = threadIdx.x; b < t.blocks; b += kThreads) {
    Merge(mine, partials[static_cast<int64_t>(t.first_block + b) * t.stride + t.k]);
  }
  const SummaryPartial total = BlockReduce(mine, warp_totals);
  if (threadIdx.x != 0) return;
  ops::internal::StatsSlot s{};
  s.count = t.count;
  s.nan = total.nan;
  s.inf = total.inf;
  s.zeros = total.zeros;
  s.saturated = total.saturated;
  s.sum = total.sum;
  s.sum_sq = total.sum_sq;
  s.shift = t.shift != nullptr ? ops::internal::ShiftOf(*t.shift) : 0.0f;
  s.min = total.min;
  s.max = total.max;
  *t.slot = s;
}

inline void CombineSummaries(const SummaryPartial* partials, const SummaryTargets& targets,
                             cudaStream_t stream) {
  if (targets.count == 0) return;
  CombineSummariesKernel<<<static_cast<unsigned>(targets.count), kThreads, 0, stream>>>(partials,
                                                                                       targets);
  FANIN_CUDA_CHECK_LAUNCH();
}

// ---- Slots in device memory ----------------------------------------------------------------------

inline ops::internal::StatsSlot* SlotAt(StatsBuffer* buffer, int64_t slot) {
  return ops::internal::SlotsOf(buffer->storage().data()) + slot;
}
// Slot `slot`'s bins, or null when the buffer has no histograms.
inline unsigned long long* BinsAt(StatsBuffer* buffer, int64_t slot) {
  if (!buffer->log2_histograms()) return nullptr;
  return reinterpret_cast<unsigned long long*>(
      ops::internal::HistogramOf(buffer->storage().data(), buffer->slots(), slot));
}
// Zeroes the bins of slots [first, first + count) (adjacent in the layout), before a pass
// adds into them; nothing without histograms.
inline void ClearSlotBins(StatsBuffer* buffer, int64_t first, int64_t count,
                          cudaStream_t stream) {
  if (!buffer->log2_histograms() || count <= 0) return;
  FANIN_CUDA_CHECK(cudaMemsetAsync(BinsAt(buffer, first), 0,
                                   sizeof(unsigned long long) * kLog2Bins * count, stream));
}

// ---- The optimizers: the update and the summaries of its extents in one pass -----------------

// A piece of the flat parameter buffers for SummarizedUpdateKernel: an extent (summarized;
// `extent` is its index among the launch's extents) or the padding between two (extent -1).
struct UpdateSegment {
  int64_t offset;
  int64_t size;
  uint32_t first_block;  // its blocks are first_block .. first_block + SummaryBlocks(size) - 1
  int32_t extent;
};
inline constexpr int kMaxUpdateExtents = kMaxSummaryTargets / 3;
inline constexpr int kMaxUpdateSegments = 2 * kMaxUpdateExtents + 1;
struct UpdatePlan {
  UpdateSegment segment[kMaxUpdateSegments];
  int count = 0;
};

// The segment that block `block` belongs to (segments in block order, the first at block 0).
__device__ inline UpdateSegment SegmentOf(const UpdatePlan& plan, uint32_t block) {
  int lo = 0, hi = plan.count - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (plan.segment[mid].first_block <= block) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return plan.segment[lo];
}

// The shifts of the launch's extents, read before the update overwrites the parameters:
// shifts[2 e] = the parameter's first value, shifts[2 e + 1] = the gradient's (ShiftOf is
// applied where they are used).
__global__ void UpdateShiftsKernel(const float* p, const float* g, const UpdatePlan plan,
                                   float* shifts) {
  const int s = static_cast<int>(threadIdx.x);
  if (s >= plan.count) return;
  const UpdateSegment seg = plan.segment[s];
  if (seg.extent < 0 || seg.size == 0) return;
  shifts[2 * seg.extent] = p[seg.offset];
  shifts[2 * seg.extent + 1] = g[seg.offset];
}

// Each value of the plan's segments is updated by `rule` (rule(i, p, g) updates the
// optimizer's state at i and returns the new parameter: the functor the unsummarized
// ApplyRuleKernel applies, so the values are the same bits with and without statistics), and
// in an extent's blocks the parameter as found, the gradient and the delta new - old (as
// rounded in float) are summarized: partials[3 block + k], k = parameter, gradient, delta.
// bins: the bins of the launch's 3 x extents slots, adjacent (null without histograms).
template <typename Rule>
__global__ void SummarizedUpdateKernel(float* __restrict__ p, const float* __restrict__ g,
                                       const UpdatePlan plan, Rule rule,
                                       const float* __restrict__ shifts,
                                       SummaryPartial* __restrict__ partials,
                                       unsigned long long* bins) {
  __shared__ SummaryPartial warp_totals[kSummaryWarps];
  __shared__ unsigned block_bins[3 * kLog2Bins];
  const UpdateSegment seg = SegmentOf(plan, blockIdx.x);
  const int64_t span = SummarySpan(seg.size);
  const int64_t begin = seg.offset + (blockIdx.x - seg.first_block) * span;
  const int64_t end = begin + span < seg.offset + seg.size ? begin + span : seg.offset + seg.size;
  if (seg.extent < 0) {  // padding: updated, not summarized (the whole block returns)
    for (int64_t i = begin + threadIdx.x; i < end; i += kThreads) p[i] = rule(i, p[i], g[i]);
    return;
  }
  const bool histograms = bins != nullptr;
  if (histograms) {
    ClearBins(block_bins, 3 * kLog2Bins);
    __syncthreads();
  }
  const SaturationBand none{};
  const double p_shift = ops::internal::ShiftOf(shifts[2 * seg.extent]);
  const double g_shift = ops::internal::ShiftOf(shifts[2 * seg.extent + 1]);
  SummaryPartial mine[3] = {EmptyPartial(), EmptyPartial(), EmptyPartial()};
  // Warp-uniform iterations (CountBin's shuffles need the whole warp).
  for (int64_t base = begin; base < end; base += kThreads) {
    const int64_t i = base + threadIdx.x;
    const bool valid = i < end;
    float old = 0.0f, grad = 0.0f, delta = 0.0f;
    if (valid) {
      old = p[i];
      grad = g[i];
      const float updated = rule(i, old, grad);
      p[i] = updated;
      delta = updated - old;
      Accumulate(mine[0], old, p_shift, none);
      Accumulate(mine[1], grad, g_shift, none);
      Accumulate(mine[2], delta, 0.0, none);
    }
    if (histograms) {
      CountBin(block_bins, old, valid);
      CountBin(block_bins + kLog2Bins, grad, valid);
      CountBin(block_bins + 2 * kLog2Bins, delta, valid);
    }
  }
#pragma unroll  // mine[] stays in registers
  for (int k = 0; k < 3; ++k) {
    const SummaryPartial total = BlockReduce(mine[k], warp_totals);
    if (threadIdx.x == 0) partials[3 * static_cast<int64_t>(blockIdx.x) + k] = total;
  }
  if (histograms) {  // BlockReduce's __syncthreads ended the counting
    unsigned long long* extent_bins = bins + static_cast<int64_t>(3 * seg.extent) * kLog2Bins;
    for (int k = 0; k < 3; ++k) {
      FlushBins(block_bins + k * kLog2Bins, extent_bins + static_cast<int64_t>(k) * kLog2Bins);
    }
  }
}

// rule(i, p, g) over [0, n) of the flat buffers: the optimizers' unsummarized kernel.
template <typename Rule>
__global__ void ApplyRuleKernel(float* __restrict__ p, const float* __restrict__ g, int64_t n,
                                Rule rule) {
  for (int64_t i = GridStart(); i < n; i += GridStride()) p[i] = rule(i, p[i], g[i]);
}

// An optimizer step over the n values of the flat buffers p and g with `rule`; with `stats`,
// also the summaries that ParameterStats (fanin/ops.h) asks for. Per group of up to
// kMaxUpdateExtents extents (one group for any model of up to 16 parameter tensors): the bins'
// memset, UpdateShiftsKernel, one SummarizedUpdateKernel over the group's extents and the
// padding before them (and, in the last group, after them), one CombineSummariesKernel for
// the group's 3 x extents slots. All on the stream; nothing waits.
template <typename Rule>
void LaunchRule(CudaBackend& cuda, const ParameterStats* stats, float* p, const float* g,
                int64_t n, const Rule& rule) {
  const cudaStream_t stream = cuda.stream();
  if (stats == nullptr || stats->extents.empty()) {
    if (n == 0) return;
    ApplyRuleKernel<<<BlocksFor(n), kThreads, 0, stream>>>(p, g, n, rule);
    FANIN_CUDA_CHECK_LAUNCH();
    return;
  }
  const auto extents = static_cast<int64_t>(stats->extents.size());
  int64_t done = 0;  // values of the flat buffers updated by the groups so far
  for (int64_t first = 0; first < extents; first += kMaxUpdateExtents) {
    const int64_t count = extents - first < kMaxUpdateExtents ? extents - first : kMaxUpdateExtents;
    const bool last_group = first + count == extents;
    UpdatePlan plan;
    SummaryTargets targets;
    uint32_t blocks = 0;
    const auto add_segment = [&](int64_t offset, int64_t size, int32_t extent) {
      if (size == 0 && extent < 0) return;
      plan.segment[plan.count++] = {offset, size, blocks, extent};
      blocks += static_cast<uint32_t>(SummaryBlocks(size));
    };
    const int64_t first_slot = stats->first_slot + 3 * first;
    for (int64_t j = 0; j < count; ++j) {
      const ParameterExtent& x = stats->extents[static_cast<size_t>(first + j)];
      add_segment(done, x.offset - done, -1);
      const uint32_t first_block = blocks;
      add_segment(x.offset, x.size, static_cast<int32_t>(j));
      done = x.offset + x.size;
      for (int k = 0; k < 3; ++k) {
        targets.target[targets.count++] = {SlotAt(stats->buffer, first_slot + 3 * j + k),
                                           nullptr,  // the shift's address, set below
                                           x.size,
                                           first_block,
                                           static_cast<uint32_t>(SummaryBlocks(x.size)),
                                           3,
                                           k};
      }
    }
    if (last_group) add_segment(done, n - done, -1);
    ScratchBuffer shifts(cuda.allocator(), sizeof(float) * 2 * kMaxUpdateExtents);
    ScratchBuffer partials(cuda.allocator(), sizeof(SummaryPartial) * 3 * (blocks + 1));
    for (int64_t j = 0; j < count; ++j) {
      const bool empty = stats->extents[static_cast<size_t>(first + j)].size == 0;
      targets.target[3 * j].shift = empty ? nullptr : shifts.as<float>() + 2 * j;
      targets.target[3 * j + 1].shift = empty ? nullptr : shifts.as<float>() + 2 * j + 1;
    }
    ClearSlotBins(stats->buffer, first_slot, 3 * count, stream);
    if (blocks > 0) {
      UpdateShiftsKernel<<<1, kMaxUpdateSegments, 0, stream>>>(p, g, plan, shifts.as<float>());
      FANIN_CUDA_CHECK_LAUNCH();
      SummarizedUpdateKernel<<<blocks, kThreads, 0, stream>>>(
          p, g, plan, rule, shifts.as<float>(), partials.as<SummaryPartial>(),
          BinsAt(stats->buffer, first_slot));
      FANIN_CUDA_CHECK_LAUNCH();
    }
    CombineSummaries(partials.as<SummaryPartial>(), targets, stream);
  }
}

}  // namespace
}  // namespace fanin::gpu
