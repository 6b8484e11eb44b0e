// The fused statistics on the GPU (.cu files only): what every kernel that summarizes a tensor
// shares. The CPU's TensorSummary (ops/stats/cpu.h) is the specification: the same slot
// (ops/stats/slot.h), the same counts, min, max and bins, and double sums of v - shift.
//
// Determinism without float atomics: a tensor of n values is cut into blocks of a size that
// depends on n alone (BlockSpan), never on the GPU or on timing. Each thread walks its
// values of a block in a fixed order, the block's threads are reduced by a fixed tree in
// shared memory, each block writes its partial to scratch, and one thread then adds the
// partials in block order and writes the slot: the same bits on every run and every GPU.
// The histogram's counts are integers, so atomics on them (in shared memory, then into the
// slot's bins) give exact results in any order.
#pragma once

#include <cstdint>

#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "cuda/launch.cuh"
#include "cuda/memory.h"
#include "fanin/ops.h"
#include "ops/stats/slot.h"

namespace fanin::gpu {
// Internal linkage: each .cu that includes this is its own translation unit with its own copy
// of the kernels (the library is built without relocatable device code).
namespace {

struct SummaryPartial {
  double sum;
  double sum_sq;
  long long nan, inf, zeros, saturated;
  float min, max;
};

__device__ inline SummaryPartial EmptyPartial() {
  return {0.0, 0.0, 0, 0, 0, 0, INFINITY, -INFINITY};
}

// What one value adds: NaN and Inf are counted and add nothing to the sums, min and max.
__device__ inline void Accumulate(SummaryPartial& p, float v, float shift, SaturationBand band) {
  const bool is_nan = isnan(v), is_inf = isinf(v);
  p.nan += is_nan;
  p.inf += is_inf;
  p.zeros += v == 0.0f;
  p.saturated += (v < band.lo) | (v > band.hi);
  if (is_nan || is_inf) return;
  const double d = static_cast<double>(v) - static_cast<double>(shift);
  p.sum += d;
  p.sum_sq += d * d;
  p.min = fminf(p.min, v);
  p.max = fmaxf(p.max, v);
}

__device__ inline void Merge(SummaryPartial& a, const SummaryPartial& b) {
  a.sum += b.sum;
  a.sum_sq += b.sum_sq;
  a.nan += b.nan;
  a.inf += b.inf;
  a.zeros += b.zeros;
  a.saturated += b.saturated;
  a.min = fminf(a.min, b.min);
  a.max = fmaxf(a.max, b.max);
}

// Values per block: at least 16 per thread, and at most kMaxSummaryBlocks blocks, so that the
// combine's sequential loop stays short. A function of n only.
inline constexpr int64_t kMaxSummaryBlocks = 4096;
inline int64_t BlockSpan(int64_t n) {
  const int64_t base = int64_t{kThreads} * 16;
  const int64_t needed = (n + kMaxSummaryBlocks - 1) / kMaxSummaryBlocks;
  return needed <= base ? base : (needed + base - 1) / base * base;
}
inline int64_t SummaryBlocks(int64_t n) {
  const int64_t blocks = (n + BlockSpan(n) - 1) / BlockSpan(n);
  return blocks < 1 ? 1 : blocks;
}

// The block's threads' partials, reduced by a fixed tree; the result is in thread 0's.
// Needs kThreads * sizeof(SummaryPartial) bytes of shared memory at `shared`.
__device__ inline SummaryPartial BlockReduce(SummaryPartial mine, SummaryPartial* shared) {
  shared[threadIdx.x] = mine;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) Merge(shared[threadIdx.x], shared[threadIdx.x + half]);
    __syncthreads();
  }
  return shared[0];
}

// Adds the block's histogram (counted in shared memory) into the slot's bins.
__device__ inline void FlushHistogram(const unsigned* block_bins, unsigned long long* bins) {
  __syncthreads();
  for (int b = threadIdx.x; b < kLog2Bins; b += kThreads) {
    if (block_bins[b] != 0) atomicAdd(bins + b, static_cast<unsigned long long>(block_bins[b]));
  }
}

__device__ inline void CountBin(unsigned* block_bins, float v) {
  atomicAdd(block_bins + ops::internal::Log2Bin(v), 1u);
}

// One thread adds the partials of one tensor in block order (partials[stride b + k]) and
// writes its slot, the shift being ShiftOf(*first), or 0 when first is null.
__global__ void CombineSummaryKernel(const SummaryPartial* partials, int64_t blocks, int stride,
                                     int k, int64_t n, const float* first,
                                     ops::internal::StatsSlot* slot) {
  if (blockIdx.x != 0 || threadIdx.x != 0) return;
  SummaryPartial total = EmptyPartial();
  for (int64_t b = 0; b < blocks; ++b) Merge(total, partials[stride * b + k]);
  ops::internal::StatsSlot s{};
  s.count = n;
  s.nan = total.nan;
  s.inf = total.inf;
  s.zeros = total.zeros;
  s.saturated = total.saturated;
  s.sum = total.sum;
  s.sum_sq = total.sum_sq;
  s.shift = first != nullptr ? ops::internal::ShiftOf(*first) : 0.0f;
  s.min = total.min;
  s.max = total.max;
  *slot = s;
}

// Where out's slot and its bins (null without histograms) are in device memory.
struct SlotAddress {
  ops::internal::StatsSlot* slot;
  unsigned long long* bins;
};
inline SlotAddress AddressOf(const StatsOut& out) {
  float* storage = out.buffer->storage().data();
  ops::internal::StatsSlot* slot = ops::internal::SlotsOf(storage) + out.slot;
  unsigned long long* bins = nullptr;
  if (out.buffer->log2_histograms()) {
    bins = reinterpret_cast<unsigned long long*>(
        ops::internal::HistogramOf(storage, out.buffer->slots(), out.slot));
  }
  return {slot, bins};
}

// Shared memory a summary kernel needs: the reduction's partials and, with histograms, the
// block's bins.
inline size_t SummarySharedBytes(int tensors, bool histograms) {
  return sizeof(SummaryPartial) * kThreads +
         (histograms ? sizeof(unsigned) * kLog2Bins * static_cast<size_t>(tensors) : 0);
}

// The parameter and gradient shifts of an optimizer's extent, copied before the update
// overwrites the parameter: ShiftOf(p[offset]), ShiftOf(g[offset]).
__global__ void CopyShiftsKernel(const float* p, const float* g, int64_t offset, float* shifts) {
  if (threadIdx.x != 0 || blockIdx.x != 0) return;
  shifts[0] = ops::internal::ShiftOf(p[offset]);
  shifts[1] = ops::internal::ShiftOf(g[offset]);
}

// One optimizer extent, [offset, offset + n) of the flat buffers: each value is updated by
// `rule` (rule(i, p, g) updates any state at i and returns the new p, the same functor the
// unsummarized kernel applies, so the values are the same bits) while the parameter as
// found, the gradient and the delta new - old are summarized. Partials: 3 per block,
// [3 b + k] for k = parameter, gradient, delta. bins[k] null without histograms.
template <typename Rule>
__global__ void SummarizedUpdateKernel(float* __restrict__ p, const float* __restrict__ g,
                                       int64_t offset, int64_t n, int64_t span, Rule rule,
                                       const float* shifts, SummaryPartial* partials,
                                       unsigned long long* bins0, unsigned long long* bins1,
                                       unsigned long long* bins2) {
  extern __shared__ unsigned char shared_raw[];
  auto* shared = reinterpret_cast<SummaryPartial*>(shared_raw);
  unsigned* block_bins = reinterpret_cast<unsigned*>(shared + kThreads);
  const bool histograms = bins0 != nullptr;
  if (histograms) {
    for (int b = threadIdx.x; b < 3 * kLog2Bins; b += kThreads) block_bins[b] = 0;
  }
  __syncthreads();
  const SaturationBand none{};
  SummaryPartial mine[3] = {EmptyPartial(), EmptyPartial(), EmptyPartial()};
  const int64_t begin = static_cast<int64_t>(blockIdx.x) * span;
  const int64_t end = begin + span < n ? begin + span : n;
  for (int64_t i = begin + threadIdx.x; i < end; i += kThreads) {
    const int64_t at = offset + i;
    const float old = p[at], grad = g[at];
    const float updated = rule(at, old, grad);
    p[at] = updated;
    const float delta = updated - old;
    Accumulate(mine[0], old, shifts[0], none);
    Accumulate(mine[1], grad, shifts[1], none);
    Accumulate(mine[2], delta, 0.0f, none);
    if (histograms) {
      CountBin(block_bins, old);
      CountBin(block_bins + kLog2Bins, grad);
      CountBin(block_bins + 2 * kLog2Bins, delta);
    }
  }
  for (int k = 0; k < 3; ++k) {
    const SummaryPartial total = BlockReduce(mine[k], shared);
    if (threadIdx.x == 0) partials[3 * blockIdx.x + k] = total;
    __syncthreads();  // shared is reused by the next reduction
  }
  if (histograms) {
    unsigned long long* bins[3] = {bins0, bins1, bins2};
    for (int k = 0; k < 3; ++k) FlushHistogram(block_bins + k * kLog2Bins, bins[k]);
  }
}

// rule(i, p, g) over [begin, end) of the flat buffers, unsummarized: the optimizers' plain
// kernel, and what updates the padding between summarized extents.
template <typename Rule>
__global__ void ApplyRuleKernel(float* __restrict__ p, const float* __restrict__ g, int64_t begin,
                                int64_t end, Rule rule) {
  for (int64_t i = begin + GridStart(); i < end; i += GridStride()) p[i] = rule(i, p[i], g[i]);
}

// An optimizer step over the n values of the flat buffers p and g with `rule`, and, with
// `stats`, the summaries of ParameterStats (fanin/ops.h): per extent the shifts, the fused
// update and three combines; the padding between extents by ApplyRuleKernel. All on the
// stream, nothing waits.
template <typename Rule>
void LaunchRule(CudaBackend& cuda, const ParameterStats* stats, float* p, const float* g,
                int64_t n, const Rule& rule) {
  const cudaStream_t stream = cuda.stream();
  const auto apply = [&](int64_t begin, int64_t end) {
    if (end <= begin) return;
    ApplyRuleKernel<<<BlocksFor(end - begin), kThreads, 0, stream>>>(p, g, begin, end, rule);
    FANIN_CUDA_CHECK_LAUNCH();
  };
  if (stats == nullptr) {
    apply(0, n);
    return;
  }
  const bool histograms = stats->buffer->log2_histograms();
  int64_t done = 0;
  for (size_t e = 0; e < stats->extents.size(); ++e) {
    const ParameterExtent& x = stats->extents[e];
    apply(done, x.offset);
    done = x.offset + x.size;
    SlotAddress out[3];
    for (int k = 0; k < 3; ++k) {
      out[k] = AddressOf({stats->buffer, stats->first_slot + 3 * static_cast<int64_t>(e) + k, {}});
      if (histograms) {
        FANIN_CUDA_CHECK(cudaMemsetAsync(out[k].bins, 0, sizeof(unsigned long long) * kLog2Bins,
                                         stream));
      }
    }
    const int64_t blocks = x.size == 0 ? 0 : SummaryBlocks(x.size);
    ScratchBuffer shifts(cuda.allocator(), 2 * sizeof(float));
    ScratchBuffer partials(cuda.allocator(), sizeof(SummaryPartial) * 3 * (blocks + 1));
    if (blocks > 0) {
      CopyShiftsKernel<<<1, 1, 0, stream>>>(p, g, x.offset, shifts.as<float>());
      FANIN_CUDA_CHECK_LAUNCH();
      SummarizedUpdateKernel<<<static_cast<unsigned>(blocks), kThreads,
                               SummarySharedBytes(3, histograms), stream>>>(
          p, g, x.offset, x.size, BlockSpan(x.size), rule, shifts.as<float>(),
          partials.as<SummaryPartial>(), out[0].bins, out[1].bins, out[2].bins);
      FANIN_CUDA_CHECK_LAUNCH();
    }
    for (int k = 0; k < 3; ++k) {
      const float* first = k < 2 && blocks > 0 ? shifts.as<float>() + k : nullptr;
      CombineSummaryKernel<<<1, 1, 0, stream>>>(partials.as<SummaryPartial>(), blocks, 3, k,
                                                x.size, first, out[k].slot);
      FANIN_CUDA_CHECK_LAUNCH();
    }
  }
  apply(done, n);
}

}  // namespace
}  // namespace fanin::gpu
