// Activations: bias + activation forward, and activation backward fused with the bias
// gradient. Both are memory-bound, so fusing is the whole optimisation: the forward reads
// z once and writes a (and z + bias) once; the backward reads da (and z or a) once, writes
// dz once and reduces the bias gradient from registers instead of re-reading dz. With fused
// statistics the forward kernel also summarizes z and a from its registers (per-block partials
// combined in a fixed order, ops/stats/summary.cuh), still one read of z; only cuDNN's
// activations need ops::Summarize's passes after them.
#include <algorithm>
#include <type_traits>

#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "cuda/launch.cuh"
#include "ops/activation/cudnn.h"
#include "ops/activation/math.h"
#include "ops/activation/op.h"
#include "ops/dispatch.h"
#include "ops/stats/op.h"
#include "ops/stats/summary.cuh"

namespace fanin::gpu {
namespace {

// ---- The activations: the table's math (ops/activation/math.h) -------------------

// f'(z) of element i, loading only what the table's `reads` column names (z or a may be null
// when not read; linear's derivative reads nothing).
template <Activation kAct>
__device__ __forceinline__ float DerivativeAt(const float* z, const float* a, int64_t i,
                                              float alpha) {
  constexpr DerivativeReads kReads = kDerivativeReads<kAct>;
  const float zi = kReads == DerivativeReads::kZ ? z[i] : 0.0f;
  const float ai = kReads == DerivativeReads::kOutput ? a[i] : 0.0f;
  return Derivative<kAct>(zi, ai, alpha);
}

template <typename Launch>
void DispatchActivation(Activation act, Launch&& launch) {
  switch (act) {
#define FANIN_X(tag, ...) \
  case Activation::tag:   \
    return launch(std::integral_constant<Activation, Activation::tag>{});
    FANIN_ACTIVATIONS(FANIN_X)
#undef FANIN_X
  }
}

// ---- Forward ---------------------------------------------------------------------------
// a = act(z + bias[column]); z_out = z + bias when given. No __restrict__: a may alias z
// and z_out, and each element is read before it is written by the same thread.
template <Activation kAct, bool kBias>
__global__ void BiasActivationForwardKernel(float alpha, const float* bias, const float* z,
                                            float* z_out, float* a, int64_t n, int64_t cols) {
  for (int64_t i = GridStart(); i < n; i += GridStride()) {
    float v = z[i];
    if constexpr (kBias) v += bias[i % cols];
    if (z_out != nullptr) z_out[i] = v;
    a[i] = Activate<kAct>(v, alpha);
  }
}

// ---- Forward with fused statistics (ForwardStats) ----------------------------------------
// The same values as BiasActivationForwardKernel (the same per-element code), and while each
// value is in a register the statistics of z + bias and of a, on the n-only grid of
// ops/stats/summary.cuh: block b owns [b span, (b + 1) span) and writes partials[2 b] (z)
// and partials[2 b + 1] (a); CombineSummariesKernel then writes the two slots. So a
// summarized step reads z once, as an unsummarized one does, and z is summarized before an
// in-place activation overwrites it (the CPU's order).
//
// The shifts are z's first value (after the bias) and a's, f of it. When the pass writes z
// (the bias added in place, or a aliasing z) block 0 would overwrite z[0] while other blocks
// still read it, so ForwardShiftsKernel saves both first; otherwise every block computes them
// from z[0] (the same instructions on the same bits, so the same values) and block 0 saves
// them for the combine. bias is a run-time argument here (one instantiation per activation).
struct ForwardSummaries {
  SaturationBand z_band, a_band;
  bool z, a;                       // which are summarized
  unsigned long long *z_bins, *a_bins;  // null without histograms (or when not summarized)
  SummaryPartial* partials;        // 2 per block
  float* shifts;                   // z's and a's first values
  bool shifts_saved;               // by ForwardShiftsKernel
};

template <Activation kAct>
__global__ void ForwardShiftsKernel(float alpha, const float* bias, const float* z,
                                    float* shifts) {
  if (blockIdx.x != 0 || threadIdx.x != 0) return;
  const float v = bias != nullptr ? z[0] + bias[0] : z[0];
  shifts[0] = v;
  shifts[1] = Activate<kAct>(v, alpha);
}

// z_out and a may be null (not written); as in BiasActivationForwardKernel, a may alias z.
template <Activation kAct>
__global__ void SummarizedForwardKernel(float alpha, const float* bias, const float* z,
                                        float* z_out, float* a, int64_t n, int64_t cols,
                                        ForwardSummaries s) {
  __shared__ SummaryPartial warp_totals[kSummaryWarps];
  __shared__ unsigned block_bins[2 * kLog2Bins];
  const bool z_bins = s.z_bins != nullptr, a_bins = s.a_bins != nullptr;
  if (z_bins || a_bins) {
    ClearBins(block_bins, 2 * kLog2Bins);
    __syncthreads();
  }
  float z_first, a_first;
  if (s.shifts_saved) {
    z_first = s.shifts[0];
    a_first = s.shifts[1];
  } else {
    z_first = bias != nullptr ? z[0] + bias[0] : z[0];
    a_first = Activate<kAct>(z_first, alpha);
    if (blockIdx.x == 0 && threadIdx.x == 0) {
      s.shifts[0] = z_first;
      s.shifts[1] = a_first;
    }
  }
  const double z_shift = ops::internal::ShiftOf(z_first);
  const double a_shift = ops::internal::ShiftOf(a_first);
  const int64_t span = SummarySpan(n);
  const int64_t begin = static_cast<int64_t>(blockIdx.x) * span;
  const int64_t end = begin + span < n ? begin + span : n;
  SummaryPartial zp = EmptyPartial(), ap = EmptyPartial();
  for (int64_t base = begin; base < end; base += kThreads) {  // warp-uniform, for CountBin
    const int64_t i = base + threadIdx.x;
    const bool valid = i < end;
    float v = 0.0f, out = 0.0f;
    if (valid) {
      v = z[i];
      if (bias != nullptr) v += bias[i % cols];
      if (z_out != nullptr) z_out[i] = v;
      out = Activate<kAct>(v, alpha);
      if (a != nullptr) a[i] = out;
      if (s.z) Accumulate(zp, v, z_shift, s.z_band);
      if (s.a) Accumulate(ap, out, a_shift, s.a_band);
    }
    if (z_bins) CountBin(block_bins, v, valid);
    if (a_bins) CountBin(block_bins + kLog2Bins, out, valid);
  }
  const SummaryPartial z_total = BlockReduce(zp, warp_totals);  // ends the counting too
  const SummaryPartial a_total = BlockReduce(ap, warp_totals);
  if (threadIdx.x == 0) {
    s.partials[2 * static_cast<int64_t>(blockIdx.x)] = z_total;
    s.partials[2 * static_cast<int64_t>(blockIdx.x) + 1] = a_total;
  }
  if (z_bins) FlushBins(block_bins, s.z_bins);
  if (a_bins) FlushBins(block_bins + kLog2Bins, s.a_bins);
}

// ---- Backward --------------------------------------------------------------------------
// dz = da * act'(z), fused with bias_grad[j] = sum_r dz[r, j].
//
// The rows are cut into chunks; each (chunk, column) pair gets one partial sum, and
// SumChunksKernel adds a column's partials in chunk order (with one chunk the partial is the
// bias gradient). Which thread adds which value depends only on the shape and the GPU's SM
// count, never on scheduling: the same bits every run, without float atomics. Chunks are
// chosen so that the grid has at least kBlocksPerSm blocks per SM (a reduction with fewer
// cannot reach the memory bandwidth) while each chunk keeps kMinRowsPerChunk rows.
//
// Wide layers (cols >= kTileCols): a block of kTileCols x kTileRows threads owns kTileCols
// adjacent columns of one chunk: a warp reads kTileCols consecutive floats of a row
// (coalesced), each thread walks its column down the chunk every kTileRows rows in a
// register, and the kTileRows sums of a column are added in shared memory in a fixed order.
// Narrow layers (Dense(1) and the like) would leave most of such a block idle: there a warp
// owns one (chunk, column) pair, its lanes take every 32nd row, and the warp adds its lanes
// with a fixed shuffle tree.
//
// Without a bias gradient the kernel is plain element-wise.
constexpr int kTileCols = 32;
constexpr int kTileRows = 8;
constexpr int kWarpsPerBlock = 8;
constexpr int64_t kMinRowsPerChunk = 64;
constexpr int64_t kMaxChunks = 1024;  // keeps SumChunksKernel's serial loop short
constexpr int64_t kBlocksPerSm = 4;

template <Activation kAct>
__global__ void ActivationBackwardKernel(float alpha, const float* z, const float* a,
                                         const float* da, float* dz, int64_t n) {
  for (int64_t i = GridStart(); i < n; i += GridStride())
    dz[i] = da[i] * DerivativeAt<kAct>(z, a, i, alpha);
}

template <Activation kAct>
__global__ void ActivationBackwardWideKernel(float alpha, const float* z, const float* a,
                                             const float* da, float* dz, int64_t rows, int64_t cols,
                                             int64_t rows_per_chunk, float* chunk_sums) {
  const int64_t col = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t begin = static_cast<int64_t>(blockIdx.y) * rows_per_chunk;
  const int64_t end = min(rows, begin + rows_per_chunk);
  float sum = 0.0f;
  if (col < cols) {
    for (int64_t r = begin + threadIdx.y; r < end; r += blockDim.y) {
      const int64_t i = r * cols + col;
      const float g = da[i] * DerivativeAt<kAct>(z, a, i, alpha);
      if (dz != nullptr) dz[i] = g;
      sum += g;
    }
  }
  __shared__ float partial[kTileRows][kTileCols + 1];  // +1: no bank conflicts
  partial[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y == 0 && col < cols) {
    float column = 0.0f;
    for (int y = 0; y < kTileRows; ++y) column += partial[y][threadIdx.x];
    chunk_sums[blockIdx.y * cols + col] = column;
  }
}

// One warp per (chunk, column): warp w of the grid takes column w % cols of chunk w / cols.
template <Activation kAct>
__global__ void ActivationBackwardNarrowKernel(float alpha, const float* z, const float* a,
                                               const float* da, float* dz, int64_t rows,
                                               int64_t cols, int64_t rows_per_chunk, int64_t chunks,
                                               float* chunk_sums) {
  const int64_t warp = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.y;
  if (warp >= chunks * cols) return;  // whole warps leave together: the shuffles stay full
  const int64_t col = warp % cols;
  const int64_t begin = warp / cols * rows_per_chunk;
  const int64_t end = min(rows, begin + rows_per_chunk);
  float sum = 0.0f;
  for (int64_t r = begin + threadIdx.x; r < end; r += 32) {
    const int64_t i = r * cols + col;
    const float g = da[i] * DerivativeAt<kAct>(z, a, i, alpha);
    if (dz != nullptr) dz[i] = g;
    sum += g;
  }
  for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_down_sync(0xffffffffu, sum, offset);
  if (threadIdx.x == 0) chunk_sums[warp] = sum;  // warp = chunk * cols + col
}

// sums[j] = sum over c of partials[c, j], in chunk order.
__global__ void SumChunksKernel(const float* partials, int64_t chunks, int64_t cols, float* sums) {
  for (int64_t j = GridStart(); j < cols; j += GridStride()) {
    float total = 0.0f;
    for (int64_t c = 0; c < chunks; ++c) total += partials[c * cols + j];
    sums[j] = total;
  }
}

// The number of row chunks: enough for kBlocksPerSm blocks per SM when the grid has
// `blocks_per_chunk` blocks for each chunk, within the bounds above.
int64_t ChunksFor(int64_t rows, double blocks_per_chunk, int sm_count) {
  const auto wanted = static_cast<int64_t>(kBlocksPerSm * sm_count / blocks_per_chunk + 0.999);
  const int64_t most = std::max<int64_t>(1, rows / kMinRowsPerChunk);
  return std::clamp<int64_t>(wanted, 1, std::min(most, kMaxChunks));
}

void LaunchBackward(ActivationSpec act, const float* z, const float* a, const float* da, float* dz,
                    int64_t rows, int64_t cols, float* sums, int sm_count,
                    CachingAllocator& allocator, cudaStream_t stream) {
  const int64_t n = rows * cols;
  if (n == 0) {
    if (sums != nullptr && cols > 0) {  // an empty sum: all bits zero is 0.0f
      FANIN_CUDA_CHECK(cudaMemsetAsync(sums, 0, sizeof(float) * cols, stream));
    }
    return;
  }
  if (sums == nullptr) {
    DispatchActivation(act.kind, [&](auto tag) {
      ActivationBackwardKernel<decltype(tag)::value>
          <<<BlocksFor(n), kThreads, 0, stream>>>(act.alpha, z, a, da, dz, n);
    });
    FANIN_CUDA_CHECK_LAUNCH();
    return;
  }
  const bool narrow = cols < kTileCols;
  const int64_t column_tiles = (cols + kTileCols - 1) / kTileCols;
  const int64_t chunks =
      ChunksFor(rows, narrow ? static_cast<double>(cols) / kWarpsPerBlock : column_tiles, sm_count);
  const int64_t rows_per_chunk = (rows + chunks - 1) / chunks;
  ScratchBuffer partials(allocator, chunks > 1 ? sizeof(float) * chunks * cols : 0);
  float* chunk_sums = chunks > 1 ? partials.as<float>() : sums;
  DispatchActivation(act.kind, [&](auto tag) {
    constexpr Activation kAct = decltype(tag)::value;
    if (narrow) {
      const auto blocks =
          static_cast<unsigned>((chunks * cols + kWarpsPerBlock - 1) / kWarpsPerBlock);
      ActivationBackwardNarrowKernel<kAct><<<blocks, dim3(32, kWarpsPerBlock), 0, stream>>>(
          act.alpha, z, a, da, dz, rows, cols, rows_per_chunk, chunks, chunk_sums);
    } else {
      const dim3 grid(static_cast<unsigned>(column_tiles), static_cast<unsigned>(chunks));
      ActivationBackwardWideKernel<kAct><<<grid, dim3(kTileCols, kTileRows), 0, stream>>>(
          act.alpha, z, a, da, dz, rows, cols, rows_per_chunk, chunk_sums);
    }
  });
  FANIN_CUDA_CHECK_LAUNCH();
  if (chunks > 1) {
    SumChunksKernel<<<BlocksFor(cols), kThreads, 0, stream>>>(chunk_sums, chunks, cols, sums);
    FANIN_CUDA_CHECK_LAUNCH();
  }
}

void LaunchBiasActivationForward(ActivationSpec act, const float* bias, const float* z,
                                 float* z_out, float* a, int64_t rows, int64_t cols,
                                 cudaStream_t stream) {
  const int64_t n = rows * cols;
  if (z_out == a) z_out = nullptr;  // a's value is the one that must stay
  if (n == 0 || (act.kind == Activation::kLinear && bias == nullptr && z == a)) return;
  DispatchActivation(act.kind, [&](auto tag) {
    if (bias != nullptr) {
      BiasActivationForwardKernel<decltype(tag)::value, true>
          <<<BlocksFor(n), kThreads, 0, stream>>>(act.alpha, bias, z, z_out, a, n, cols);
    } else {
      BiasActivationForwardKernel<decltype(tag)::value, false>
          <<<BlocksFor(n), kThreads, 0, stream>>>(act.alpha, bias, z, z_out, a, n, cols);
    }
  });
  FANIN_CUDA_CHECK_LAUNCH();
}

// BiasActivationForward's or ActivationForward's pass with the statistics of `stats`: the
// bins' memsets, ForwardShiftsKernel when the pass writes z, SummarizedForwardKernel, and one
// CombineSummariesKernel for both slots. With one slot for z and a (a aliasing z), a's
// statistics are the ones it keeps, as after the CPU's passes (z's, then a's).
void LaunchSummarizedForward(CudaBackend& cuda, ActivationSpec act, const float* bias,
                             const float* z, float* z_out, float* a, int64_t rows, int64_t cols,
                             const ForwardStats& stats) {
  const cudaStream_t stream = cuda.stream();
  const int64_t n = rows * cols;
  if (z_out == a) z_out = nullptr;  // a's value is the one that must stay
  if (act.kind == Activation::kLinear && bias == nullptr && z == a) a = nullptr;  // a is z
  const bool z_on = stats.z.buffer != stats.a.buffer || stats.z.slot != stats.a.slot;
  const auto blocks = static_cast<uint32_t>(SummaryBlocks(n));
  if (z_on) ClearSlotBins(stats.z.buffer, stats.z.slot, 1, stream);
  ClearSlotBins(stats.a.buffer, stats.a.slot, 1, stream);
  ScratchBuffer shifts(cuda.allocator(), 2 * sizeof(float));
  ScratchBuffer partials(cuda.allocator(), sizeof(SummaryPartial) * 2 * (blocks + 1));
  if (blocks > 0) {
    const bool writes_z = z_out != nullptr || (a != nullptr && a == z);
    const ForwardSummaries s{stats.z.saturation,
                             stats.a.saturation,
                             z_on,
                             true,
                             z_on ? BinsAt(stats.z.buffer, stats.z.slot) : nullptr,
                             BinsAt(stats.a.buffer, stats.a.slot),
                             partials.as<SummaryPartial>(),
                             shifts.as<float>(),
                             writes_z};
    DispatchActivation(act.kind, [&](auto tag) {
      constexpr Activation kAct = decltype(tag)::value;
      if (writes_z) {
        ForwardShiftsKernel<kAct><<<1, 1, 0, stream>>>(act.alpha, bias, z, shifts.as<float>());
        FANIN_CUDA_CHECK_LAUNCH();
      }
      SummarizedForwardKernel<kAct>
          <<<blocks, kThreads, 0, stream>>>(act.alpha, bias, z, z_out, a, n, cols, s);
      FANIN_CUDA_CHECK_LAUNCH();
    });
  }
  SummaryTargets targets;
  if (z_on) {
    targets.target[targets.count++] = {SlotAt(stats.z.buffer, stats.z.slot),
                                       n > 0 ? shifts.as<float>() : nullptr, n, 0, blocks, 2, 0};
  }
  targets.target[targets.count++] = {SlotAt(stats.a.buffer, stats.a.slot),
                                     n > 0 ? shifts.as<float>() + 1 : nullptr, n, 0, blocks, 2, 1};
  CombineSummaries(partials.as<SummaryPartial>(), targets, stream);
}

void LaunchActivationBackward(ActivationSpec act, const float* z, const float* a, const float* da,
                              float* dz, int64_t rows, int64_t cols, float* bias_grad, int sm_count,
                              CachingAllocator& allocator, cudaStream_t stream) {
  // Linear in place changes nothing in dz: skip its writes.
  if (act.kind == Activation::kLinear && dz == da) dz = nullptr;
  if (dz == nullptr && bias_grad == nullptr) return;
  LaunchBackward(act, z, a, da, dz, rows, cols, bias_grad, sm_count, allocator, stream);
}

void LaunchColumnSums(const float* x, int64_t rows, int64_t cols, float* sums, int sm_count,
                      CachingAllocator& allocator, cudaStream_t stream) {
  LaunchBackward(Activation::kLinear, nullptr, nullptr, x, nullptr, rows, cols, sums, sm_count,
                 allocator, stream);
}

// ---- The ops: fanin's kernels, or cuDNN's with BackendOptions::cudnn_activations -------------

// cuDNN's activation, and its statistics as ops::Summarize passes after it (cuDNN's kernels
// cannot summarize): z's before an in-place activation overwrites it, a's last (so a slot
// shared by both keeps a's, as on the CPU).
void CudnnForward(Backend& backend, CudnnActivations& cudnn, ActivationSpec act, const Tensor& z,
                  Tensor& a, const ForwardStats* stats) {
  const auto& summarize = ops::internal::Kernels<ops::internal::SummarizeOp>::For(backend);
  const bool in_place = a.data() == z.data();
  if (stats != nullptr && in_place) summarize(backend, z, stats->z);
  cudnn.Forward(act, z.data(), a.data(), z.rows(), z.cols());
  if (stats == nullptr) return;
  if (!in_place) summarize(backend, z, stats->z);
  summarize(backend, a, stats->a);
}

// With `stats`, fanin's kernel summarizes z (after the bias) and a as it writes them
// (LaunchSummarizedForward).
void BiasActivationForward(Backend& backend, ActivationSpec act, const Tensor& bias, Tensor& z,
                           Tensor& a, const ForwardStats* stats) {
  auto& cuda = static_cast<CudaBackend&>(backend);
  cuda.Activate();
  CudnnActivations* cudnn = CudnnActivationsFor(cuda, act);
  if (cudnn != nullptr && z.size() > 0) {
    cudnn->AddBias(bias.data(), z.data(), z.rows(), z.cols());
    CudnnForward(backend, *cudnn, act, z, a, stats);
  } else if (stats != nullptr) {
    LaunchSummarizedForward(cuda, act, bias.data(), z.data(), z.data(), a.data(), z.rows(),
                            z.cols(), *stats);
  } else {
    LaunchBiasActivationForward(act, bias.data(), z.data(), z.data(), a.data(), z.rows(), z.cols(),
                                cuda.stream());
  }
}

void ActivationForward(Backend& backend, ActivationSpec act, const Tensor& z, Tensor& a,
                       const ForwardStats* stats) {
  auto& cuda = static_cast<CudaBackend&>(backend);
  cuda.Activate();
  CudnnActivations* cudnn = CudnnActivationsFor(cuda, act);
  if (cudnn != nullptr && z.size() > 0) {
    CudnnForward(backend, *cudnn, act, z, a, stats);
  } else if (stats != nullptr) {
    LaunchSummarizedForward(cuda, act, nullptr, z.data(), nullptr, a.data(), z.rows(), z.cols(),
                            *stats);
  } else {
    LaunchBiasActivationForward(act, nullptr, z.data(), nullptr, a.data(), z.rows(), z.cols(),
                                cuda.stream());
  }
}

// With cuDNN the bias gradient still comes from fanin's deterministic column sums, so that
// choosing cuDNN changes only the activation arithmetic.
void ActivationBackward(Backend& backend, ActivationSpec act, const Tensor& z, const Tensor& a,
                        const Tensor& da, Tensor& dz, Tensor* bias_grad) {
  auto& cuda = static_cast<CudaBackend&>(backend);
  cuda.Activate();
  float* bias_grad_data = bias_grad != nullptr ? bias_grad->data() : nullptr;
  CudnnActivations* cudnn = CudnnActivationsFor(cuda, act);
  if (cudnn != nullptr && da.size() > 0) {
    cudnn->Backward(act, z.data(), a.data(), da.data(), dz.data(), da.rows(), da.cols());
    if (bias_grad_data != nullptr) {
      LaunchColumnSums(dz.data(), da.rows(), da.cols(), bias_grad_data, cuda.sm_count(),
                       cuda.allocator(), cuda.stream());
    }
  } else {
    LaunchActivationBackward(act, z.data(), a.data(), da.data(), dz.data(), da.rows(), da.cols(),
                             bias_grad_data, cuda.sm_count(), cuda.allocator(), cuda.stream());
  }
}

using ops::internal::ActivationBackwardOp;
using ops::internal::ActivationForwardOp;
using ops::internal::BiasActivationForwardOp;
using ops::internal::Kernels;
const bool kRegistered =
    Kernels<BiasActivationForwardOp>::Register<CudaBackend>(BiasActivationForward) &&
    Kernels<ActivationForwardOp>::Register<CudaBackend>(ActivationForward) &&
    Kernels<ActivationBackwardOp>::Register<CudaBackend>(ActivationBackward);

}  // namespace
}  // namespace fanin::gpu
