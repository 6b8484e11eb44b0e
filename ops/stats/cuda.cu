// Statistics of a batch of tensors (ops::Stats), computed on the device with one wait; and,
// at the end, ops::Summarize, the fused statistics' standalone pass (one read of the tensor,
// per-block partials combined in a fixed order, no wait: ops/stats/summary.cuh).
//
// Per tensor, three passes, all enqueued before anything is read back:
//   1. a CUB device-wide reduction of per-element Moments (finite/NaN/Inf counts, sum,
//      min and max of the finite values) into device memory;
//   2. a CUB transform-reduction of (x - mean)^2 over the finite values, the mean read
//      from pass 1's result in device memory: the two-pass (numerically stable)
//      population variance, without a host round trip in between;
//   3. a histogram kernel whose auto range, too, is read from pass 1's result.
// Every result lands in one scratch block, copied to the host in one copy, one wait.
//
// Why CUB rather than thrust::reduce: CUB is the library Thrust's CUDA backend runs on;
// a Thrust algorithm returns its result to the host, so it waits at every call (even
// with thrust::cuda::par_nosync), while CUB writes the result to device memory and lets
// pass 2 and 3 consume it on the device. CUB's reductions use no atomics and a tiling
// fixed by the problem size and the GPU, so they give the same bits every run.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <cub/device/device_reduce.cuh>
#include <limits>

#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "cuda/launch.cuh"
#include "ops/dispatch.h"
#include "ops/stats/op.h"
#include "ops/stats/summary.cuh"

namespace fanin::gpu {
namespace {

struct Moments {
  long long finite;
  long long nan;
  long long inf;
  double sum;  // of the finite values, as are min and max
  double min;
  double max;
};

// The result area of one tensor, written on the device and read back once.
struct DeviceStats {
  Moments moments;
  double squared_deviation;  // sum of (x - mean)^2 over the finite values
};

struct ToMoments {
  __device__ Moments operator()(float x) const {
    if (isnan(x)) return {0, 1, 0, 0.0, INFINITY, -INFINITY};
    if (isinf(x)) return {0, 0, 1, 0.0, INFINITY, -INFINITY};
    return {1, 0, 0, x, x, x};
  }
};

struct MergeMoments {
  __device__ Moments operator()(const Moments& a, const Moments& b) const {
    return {a.finite + b.finite, a.nan + b.nan,      a.inf + b.inf,
            a.sum + b.sum,       fmin(a.min, b.min), fmax(a.max, b.max)};
  }
};

struct SquaredDeviation {
  const Moments* moments;  // pass 1's result, on the device
  __device__ double operator()(float x) const {
    if (!isfinite(x)) return 0.0;
    const double deviation = x - moments->sum / static_cast<double>(moments->finite);
    return deviation * deviation;
  }
};

// The range the histogram covers: the finite min and max (0 when there are none) or the
// spec's explicit range, widened to [lo - 0.5, hi + 0.5] when empty (numpy's rule, so a
// constant tensor lands in the middle bin). The kernel and the host both use this.
struct Range {
  double lo;
  double hi;
};
__host__ __device__ Range HistogramRange(const HistogramSpec& spec, const Moments& m) {
  const bool finite = m.finite > 0;
  Range r =
      spec.auto_range ? Range{finite ? m.min : 0.0, finite ? m.max : 0.0} : Range{spec.lo, spec.hi};
  if (r.hi <= r.lo) {
    r.lo -= 0.5;
    r.hi += 0.5;
  }
  return r;
}

// Equal bins over [lo, hi], hi in the last bin: bin = (x - lo) * (bins / (hi - lo)) in
// double, the CPU backend's arithmetic, so the counts match it exactly. Each block counts
// into shared memory, then adds its counts to the global ones. Integer atomics: the
// counts are exact whatever the order the blocks run in.
constexpr int kMaxSharedBins = 8192;

__global__ void HistogramKernel(const float* x, int64_t n, HistogramSpec spec,
                                const Moments* moments, unsigned long long* counts) {
  extern __shared__ unsigned int block_counts[];
  const bool shared = spec.bins <= kMaxSharedBins;
  const auto [lo, hi] = HistogramRange(spec, *moments);
  if (shared) {
    for (int b = threadIdx.x; b < spec.bins; b += blockDim.x) block_counts[b] = 0;
    __syncthreads();
  }
  const double scale = spec.bins / (hi - lo);
  for (int64_t i = GridStart(); i < n; i += GridStride()) {
    const double v = x[i];
    if (!(v >= lo && v <= hi)) continue;  // outside the range, or NaN
    const int64_t bin = min(static_cast<int64_t>((v - lo) * scale), int64_t{spec.bins} - 1);
    if (shared) {
      atomicAdd(&block_counts[bin], 1u);
    } else {
      atomicAdd(&counts[bin], 1ull);
    }
  }
  if (shared) {
    __syncthreads();
    for (int b = threadIdx.x; b < spec.bins; b += blockDim.x) {
      if (block_counts[b] != 0)
        atomicAdd(&counts[b], static_cast<unsigned long long>(block_counts[b]));
    }
  }
}

std::vector<TensorStats> ComputeStats(std::span<const float* const> data,
                                      std::span<const int64_t> sizes,
                                      const HistogramSpec& histogram, CachingAllocator& allocator,
                                      cudaStream_t stream) {
  const size_t count = data.size();
  if (count == 0) return {};
  const int bins = std::max(histogram.bins, 0);
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const Moments identity{0, 0, 0, 0.0, kInf, -kInf};

  // One scratch block for CUB's temporary storage, sized for the largest tensor.
  size_t temp_bytes = 0;
  for (size_t t = 0; t < count; ++t) {
    size_t bytes = 0;
    FANIN_CUDA_CHECK(cub::DeviceReduce::TransformReduce(
        nullptr, bytes, data[t], static_cast<Moments*>(nullptr), sizes[t], MergeMoments{},
        ToMoments{}, identity, stream));
    temp_bytes = std::max(temp_bytes, bytes);
    FANIN_CUDA_CHECK(cub::DeviceReduce::TransformReduce(
        nullptr, bytes, data[t], static_cast<double*>(nullptr), sizes[t], cuda::std::plus<>{},
        SquaredDeviation{nullptr}, 0.0, stream));
    temp_bytes = std::max(temp_bytes, bytes);
  }
  ScratchBuffer temp(allocator, temp_bytes);

  // Results: count DeviceStats, then count x bins histogram counts.
  const size_t stats_bytes = count * sizeof(DeviceStats);
  const size_t result_bytes = stats_bytes + count * bins * sizeof(unsigned long long);
  ScratchBuffer results(allocator, result_bytes);
  auto* device_stats = results.as<DeviceStats>();
  auto* device_counts = reinterpret_cast<unsigned long long*>(results.as<char>() + stats_bytes);
  FANIN_CUDA_CHECK(cudaMemsetAsync(results.as<void>(), 0, result_bytes, stream));

  for (size_t t = 0; t < count; ++t) {
    if (sizes[t] == 0) continue;  // zeroed: no values of any kind
    Moments* moments = &device_stats[t].moments;
    size_t bytes = temp_bytes;
    FANIN_CUDA_CHECK(cub::DeviceReduce::TransformReduce(temp.as<void>(), bytes, data[t], moments,
                                                        sizes[t], MergeMoments{}, ToMoments{},
                                                        identity, stream));
    bytes = temp_bytes;
    FANIN_CUDA_CHECK(cub::DeviceReduce::TransformReduce(
        temp.as<void>(), bytes, data[t], &device_stats[t].squared_deviation, sizes[t],
        cuda::std::plus<>{}, SquaredDeviation{moments}, 0.0, stream));
    if (bins > 0) {
      const size_t shared_bytes = bins <= kMaxSharedBins ? bins * sizeof(unsigned int) : 0;
      HistogramKernel<<<std::min(BlocksFor(sizes[t]), 1024u), kThreads, shared_bytes, stream>>>(
          data[t], sizes[t], histogram, moments, device_counts + t * bins);
      FANIN_CUDA_CHECK_LAUNCH();
    }
  }

  std::vector<unsigned char> host(result_bytes);
  FANIN_CUDA_CHECK(cudaMemcpyAsync(host.data(), results.as<void>(), result_bytes,
                                   cudaMemcpyDeviceToHost, stream));
  FANIN_CUDA_CHECK(cudaStreamSynchronize(stream));

  std::vector<TensorStats> out(count);
  for (size_t t = 0; t < count; ++t) {
    DeviceStats s;
    std::memcpy(&s, host.data() + t * sizeof(DeviceStats), sizeof(DeviceStats));
    const Moments& m = s.moments;
    TensorStats& r = out[t];
    r.count = sizes[t];
    r.nan_count = m.nan;
    r.inf_count = m.inf;
    if (m.finite > 0) {
      r.mean = m.sum / static_cast<double>(m.finite);
      r.std = std::sqrt(s.squared_deviation / static_cast<double>(m.finite));
      r.min = m.min;
      r.max = m.max;
    }
    if (bins > 0) {
      const Range range = HistogramRange(histogram, m);
      r.hist_lo = static_cast<float>(range.lo);
      r.hist_hi = static_cast<float>(range.hi);
      r.histogram.resize(bins);
      std::memcpy(r.histogram.data(), host.data() + stats_bytes + t * bins * sizeof(int64_t),
                  bins * sizeof(int64_t));
    }
  }
  return out;
}

// Every reduction enqueued, then one copy of all results to the host and one wait.
std::vector<TensorStats> Stats(Backend& backend, std::span<const Tensor* const> tensors,
                               const HistogramSpec& histogram) {
  auto& cuda = static_cast<CudaBackend&>(backend);
  std::vector<const float*> data;
  std::vector<int64_t> sizes;
  for (const Tensor* t : tensors) {
    data.push_back(t->data());
    sizes.push_back(t->size());
  }
  cuda.Activate();
  cuda.RefuseWhileRecording("Stats", kWaitInRecording);
  return ComputeStats(data, sizes, histogram, cuda.allocator(), cuda.stream());
}

using ops::internal::Kernels;
using ops::internal::StatsOp;
// ---- ops::Summarize: the fused statistics' standalone pass (ops/stats/summary.cuh) -----------
// For a tensor that no summarizing pass writes (the parameters of a step without an update,
// z and a after cuDNN's activations). One read of x: SummarizeKernel on the n-only grid of
// summary.cuh, then CombineSummariesKernel; x is only read, so every block takes the shift
// from x[0] itself.

__global__ void SummarizeKernel(const float* __restrict__ x, int64_t n, SaturationBand band,
                                SummaryPartial* __restrict__ partials, unsigned long long* bins) {
  __shared__ SummaryPartial warp_totals[kSummaryWarps];
  __shared__ unsigned block_bins[kLog2Bins];
  const bool histograms = bins != nullptr;
  if (histograms) {
    ClearBins(block_bins, kLog2Bins);
    __syncthreads();
  }
  const double shift = ops::internal::ShiftOf(x[0]);
  const int64_t span = SummarySpan(n);
  const int64_t begin = static_cast<int64_t>(blockIdx.x) * span;
  const int64_t end = begin + span < n ? begin + span : n;
  SummaryPartial mine = EmptyPartial();
  for (int64_t base = begin; base < end; base += kThreads) {  // warp-uniform, for CountBin
    const int64_t i = base + threadIdx.x;
    const bool valid = i < end;
    const float v = valid ? x[i] : 0.0f;
    if (valid) Accumulate(mine, v, shift, band);
    if (histograms) CountBin(block_bins, v, valid);
  }
  const SummaryPartial total = BlockReduce(mine, warp_totals);  // ends the counting too
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
  if (histograms) FlushBins(block_bins, bins);
}

void Summarize(Backend& backend, const Tensor& t, const StatsOut& out) {
  auto& cuda = static_cast<CudaBackend&>(backend);
  cuda.Activate();
  const cudaStream_t stream = cuda.stream();
  const int64_t n = t.size();
  const auto blocks = static_cast<uint32_t>(SummaryBlocks(n));
  unsigned long long* bins = BinsAt(out.buffer, out.slot);
  ClearSlotBins(out.buffer, out.slot, 1, stream);
  ScratchBuffer partials(cuda.allocator(), sizeof(SummaryPartial) * (blocks + 1));
  if (blocks > 0) {
    SummarizeKernel<<<blocks, kThreads, 0, stream>>>(t.data(), n, out.saturation,
                                                     partials.as<SummaryPartial>(), bins);
    FANIN_CUDA_CHECK_LAUNCH();
  }
  SummaryTargets targets;
  targets.target[targets.count++] = {SlotAt(out.buffer, out.slot), n > 0 ? t.data() : nullptr,
                                     n, 0, blocks, 1, 0};
  CombineSummaries(partials.as<SummaryPartial>(), targets, stream);
}

using ops::internal::SummarizeOp;
const bool kRegistered = Kernels<StatsOp>::Register<CudaBackend>(Stats) &&
                         Kernels<SummarizeOp>::Register<CudaBackend>(Summarize);

}  // namespace
}  // namespace fanin::gpu
