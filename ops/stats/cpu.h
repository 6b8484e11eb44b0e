// The CPU's tensor statistics: the two-pass ops::Stats of one tensor, and the fused statistics
// (TensorSummary) that the activation and optimizer passes accumulate as they write.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

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
// (One call per chunk: the std::function costs nothing against 4096 values.)
void SummarizedUpdate(int threads, const ParameterStats& stats, const float* p, const float* g,
                      int64_t n, const std::function<void(int64_t, int64_t, float*)>& update);

}  // namespace fanin::ops::internal
