// The CPU's tensor statistics: the two-pass ops::Stats of one tensor, and the fused statistics
// (TensorSummary) that the activation and optimizer passes accumulate as they write.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "cpu/parallel.h"
#include "fanin/ops.h"
#include "ops/stats/slot.h"

namespace fanin::ops::internal {

// Statistics of n floats at x (TensorStats semantics of fanin/ops.h).
// counts, min, max and the histogram are exactly those of the scalar reference (and of the
// CUDA backend: same range rule, and bin = min(int((v - lo) * (bins / (hi - lo))), bins - 1)
// in double); mean and std agree with a sequential double-precision sum to double rounding
// (see the .cc). The summation order is fixed, so the same input gives the same bits.
TensorStats ComputeTensorStats(const float* x, int64_t n, const HistogramSpec& histogram);

// One tensor's fused statistics, accumulated chunk by chunk by any threads: chunk c holds
// values [c kChunk, (c + 1) kChunk) of the tensor. Each chunk's double sums are kept apart and
// added in chunk order by Finish, and everything else (counts, min, max, histogram) is exact
// in any order, so the slot gets the same bits whichever thread took which chunk, on any
// thread count.
class TensorSummary {
 public:
  // 16 kB: a chunk of z and one of a stay in L1 between the pass that writes them and the
  // summary that reads them.
  static constexpr int64_t kChunk = 4096;
  static constexpr int kHistogramCopies = 8;
  // What summarizing a value costs against the element-wise loops ParallelFor's threshold was
  // set for (kParallelMinElements): about 8 times as much (measured: 0.2 ns a value without
  // the log2 histogram, 0.5 with it, on a 2-core EPYC). Scaling a summary's size by it
  // splits W1's 100k-value layers over both threads instead of leaving the second idle,
  // where it would fall asleep and make the next GEMM wait for it to wake.
  static constexpr int64_t kWorkPerValue = 8;

  // n values, summarized from `threads` threads (thread indices 0 .. threads - 1), into out.
  // shift: the value the sums are taken about (ShiftOf the tensor's first value, or 0).
  TensorSummary(int64_t n, float shift, const StatsOut& out, int threads);
  static int64_t Chunks(int64_t n) { return (n + kChunk - 1) / kChunk; }

  // Adds chunk `chunk`, whose values are x[0, length): length is kChunk but for the last.
  void Add(int thread, int64_t chunk, const float* x, int64_t length);
  // Writes the slot (and its histogram). Call once, after every chunk was added.
  void Finish();

 private:
  struct Exact {
    int64_t nan = 0, inf = 0, zeros = 0, saturated = 0;
    float min, max;
    std::vector<int64_t> histogram;  // kLog2Bins, when the buffer has histograms
    std::vector<uint32_t> copies;    // kHistogramCopies x kLog2Bins counts not yet in histogram
    int64_t pending = 0;             // values counted in copies
  };
  static void Flush(Exact& e);
  struct Sums {
    double sum = 0.0, sum_sq = 0.0;
  };
  int64_t n_;
  float shift_;
  StatsOut out_;
  std::vector<Exact> per_thread_;
  std::vector<Sums> per_chunk_;
};

// An optimizer pass that summarizes what it reads and writes (ParameterStats): runs
// update(begin, end, delta), which must update the flat buffers' values [begin, end) and write
// delta[0, end - begin) = new value - old value, over each extent chunk by chunk, summarizing
// the chunk's parameters before the update, its gradients g and its deltas while they are
// in L1. The values between extents are updated too, unsummarized. `update` must be
// element-wise, so that the chunking changes no value.
template <typename Update>
void SummarizedUpdate(int threads, const ParameterStats& stats, const float* p, const float* g,
                      int64_t n, Update&& update) {
  struct Item {
    size_t extent;
    int64_t chunk;
  };
  std::vector<TensorSummary> summaries;
  std::vector<Item> items;
  summaries.reserve(3 * stats.extents.size());
  for (size_t e = 0; e < stats.extents.size(); ++e) {
    const ParameterExtent& x = stats.extents[e];
    const int64_t slot = stats.first_slot + 3 * static_cast<int64_t>(e);
    const bool empty = x.size == 0;
    summaries.emplace_back(x.size, empty ? 0.0f : ShiftOf(p[x.offset]),
                           StatsOut{stats.buffer, slot, {}}, threads);
    summaries.emplace_back(x.size, empty ? 0.0f : ShiftOf(g[x.offset]),
                           StatsOut{stats.buffer, slot + 1, {}}, threads);
    // An update's mean is small against its spread; about 0 its sums lose nothing.
    summaries.emplace_back(x.size, 0.0f, StatsOut{stats.buffer, slot + 2, {}}, threads);
    for (int64_t c = 0; c < TensorSummary::Chunks(x.size); ++c) items.push_back({e, c});
  }
  int64_t summarized = 0;
  for (const ParameterExtent& x : stats.extents) summarized += x.size;
  ParallelFor(static_cast<int64_t>(items.size()), threads, 1,
              summarized * TensorSummary::kWorkPerValue,
              [&](int64_t begin, int64_t end) {
                const int thread = omp_get_thread_num();
                float delta[TensorSummary::kChunk];
                for (int64_t i = begin; i < end; ++i) {
                  const Item item = items[static_cast<size_t>(i)];
                  const ParameterExtent& x = stats.extents[item.extent];
                  const int64_t start = x.offset + item.chunk * TensorSummary::kChunk;
                  const int64_t length =
                      std::min(TensorSummary::kChunk, x.offset + x.size - start);
                  TensorSummary* three = &summaries[3 * item.extent];
                  three[0].Add(thread, item.chunk, p + start, length);
                  three[1].Add(thread, item.chunk, g + start, length);
                  update(start, start + length, delta);
                  three[2].Add(thread, item.chunk, delta, length);
                }
              });
  // The padding between extents, and after the last.
  float discarded[TensorSummary::kChunk];
  int64_t done = 0;
  const auto update_gap = [&](int64_t begin, int64_t end) {
    for (int64_t start = begin; start < end; start += TensorSummary::kChunk) {
      update(start, std::min(end, start + TensorSummary::kChunk), discarded);
    }
  };
  for (const ParameterExtent& x : stats.extents) {
    update_gap(done, x.offset);
    done = x.offset + x.size;
  }
  update_gap(done, n);
  for (TensorSummary& summary : summaries) summary.Finish();
}

}  // namespace fanin::ops::internal
