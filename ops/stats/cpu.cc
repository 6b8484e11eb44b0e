// Tensor statistics in three vectorized passes: moments (NaN/Inf counts, sum, min, max),
// squared deviations from the mean, histogram.
//
// Precision. Both sums run in double lanes (a float is exact in double), in an order fixed
// by this code and the vector width of the copy the CPU runs (FANIN_ISA_CLONES), never by
// threads, timing or alignment: on one machine the same input gives the same bits. Summing n terms
// in any order errs by at most about n 2^-53 times the sum of their magnitudes (Higham), so against
// the reference's sequential double sums the mean agrees to 2 n 2^-53 mean(|x|) and the std to that
// plus 2 n 2^-53 std: for n = 1e6, 2e-10 relative, far below a float ulp (6e-8). Counts, min, max
// and the histogram are exact. (min and max are equal as values; when the extreme is a zero that
// occurs with both signs, which zero is returned may differ from the reference's choice,
// the first one met.)
//
// Speed. The common case, all values finite, takes branch-free loops: one NaN or Inf makes
// the double sum of pass 1 NaN or Inf (finite floats cannot overflow a double sum), and only
// then does a masked pass count them. The fast reductions run over two or four parts of the
// tensor at once: a single vector accumulator would make the loop wait on the adder's
// latency. The histogram costs most (0.8 ns per value on a 2-core Xeon VM, against 0.3 ns
// for each of the other passes), half of it the scalar increments.
#include "ops/stats/cpu.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/isa_clones.h"
#include "cpu/parallel.h"
#include "ops/dispatch.h"
#include "ops/stats/op.h"
#include "ops/stats/slot.h"

namespace fanin::ops::internal {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr uint32_t kInfBits = 0x7f800000u;  // |v|'s bits: above this NaN, equal Inf

inline uint32_t MagnitudeBits(float v) { return std::bit_cast<uint32_t>(v) & 0x7fffffffu; }

// keep ? a : b as a select on the bits: GCC 12 vectorizes it, where it leaves a select
// between computed float values as a branch unless -fno-trapping-math.
inline float Select(bool keep, float a, float b) {
  const uint32_t mask = 0u - static_cast<uint32_t>(keep);
  return std::bit_cast<float>((std::bit_cast<uint32_t>(a) & mask) |
                              (std::bit_cast<uint32_t>(b) & ~mask));
}

struct Moments {
  int64_t nan = 0;
  int64_t inf = 0;
  double sum = 0.0;  // sum, min and max of the finite values
  float min = kInf;
  float max = -kInf;
};

// Sum, min and max, valid when every value is finite (the caller checks the sum). Four
// quarters of the tensor at once, their values paired in double before the two sums.
FANIN_ISA_CLONES Moments FiniteMoments(const float* x, int64_t n) {
  const int64_t quarter = n / 4;
  const float* x1 = x + quarter;
  const float* x2 = x1 + quarter;
  const float* x3 = x2 + quarter;
  double sum02 = 0.0, sum13 = 0.0;
  float lo = kInf, hi = -kInf;
#pragma omp simd reduction(+ : sum02, sum13) reduction(min : lo) reduction(max : hi)
  for (int64_t i = 0; i < quarter; ++i) {
    const float a = x[i], b = x1[i], c = x2[i], d = x3[i];
    sum02 += static_cast<double>(a) + static_cast<double>(c);
    sum13 += static_cast<double>(b) + static_cast<double>(d);
    const float ac_lo = c < a ? c : a, bd_lo = d < b ? d : b;
    const float ac_hi = c > a ? c : a, bd_hi = d > b ? d : b;
    const float low = bd_lo < ac_lo ? bd_lo : ac_lo, high = bd_hi > ac_hi ? bd_hi : ac_hi;
    lo = low < lo ? low : lo;
    hi = high > hi ? high : hi;
  }
  Moments m;
  m.sum = sum02 + sum13;
  m.min = lo;
  m.max = hi;
  for (int64_t i = 4 * quarter; i < n; ++i) {
    m.sum += x[i];
    m.min = std::min(m.min, x[i]);
    m.max = std::max(m.max, x[i]);
  }
  return m;
}

// The exact pass when some value is NaN or Inf: those are counted and left out.
FANIN_ISA_CLONES Moments MaskedMoments(const float* x, int64_t n) {
  int64_t nan = 0, inf = 0;
  double sum = 0.0;
  float lo = kInf, hi = -kInf;
#pragma omp simd reduction(+ : nan, inf, sum) reduction(min : lo) reduction(max : hi)
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const uint32_t bits = MagnitudeBits(v);
    const bool finite = bits < kInfBits;
    nan += bits > kInfBits;
    inf += bits == kInfBits;
    sum += Select(finite, v, 0.0f);
    const float low = Select(finite, v, kInf), high = Select(finite, v, -kInf);
    lo = low < lo ? low : lo;
    hi = high > hi ? high : hi;
  }
  return {nan, inf, sum, lo, hi};
}

// Sum of (x - mean)^2 over the finite values.
FANIN_ISA_CLONES double SquaredDeviations(const float* x, int64_t n, double mean, bool all_finite) {
  if (!all_finite) {
    double squares = 0.0;
#pragma omp simd reduction(+ : squares)
    for (int64_t i = 0; i < n; ++i) {
      // NaN and Inf become 0 before the subtraction (no NaN to multiply by 0), then their
      // deviation is multiplied by 0. (bool -> int -> double: GCC 12 does not vectorize
      // bool -> double.)
      const bool finite = MagnitudeBits(x[i]) < kInfBits;
      const double weight = static_cast<double>(static_cast<int>(finite));
      const double d = (Select(finite, x[i], 0.0f) - mean) * weight;
      squares += d * d;
    }
    return squares;
  }
  const int64_t half = n / 2;
  const float* y = x + half;
  double squares_x = 0.0, squares_y = 0.0;
#pragma omp simd reduction(+ : squares_x, squares_y)
  for (int64_t i = 0; i < half; ++i) {
    const double a = x[i] - mean, b = y[i] - mean;
    squares_x += a * a;
    squares_y += b * b;
  }
  double squares = squares_x + squares_y;
  if (n % 2 != 0) squares += (x[n - 1] - mean) * (x[n - 1] - mean);
  return squares;
}

// The reference's bin of v in [lo, hi]. t is NaN only for an infinite range, or an empty
// one that widening could not open (|lo| >= 2^53), where the reference converted NaN to
// int64 (undefined behavior; on x86 the count landed in bin 0): bin 0 here, as on CUDA,
// whose conversion gives 0 for NaN.
int64_t BinOf(double v, double lo, double scale, int bins) {
  const double t = (v - lo) * scale;
  if (!(t >= 0.0)) return 0;
  return t >= bins - 1 ? bins - 1 : static_cast<int64_t>(t);
}

// For ranges the fast path does not take: infinite, empty, or with no float inside.
void ScalarHistogram(const float* x, int64_t n, double lo, double hi, int bins, int64_t* counts) {
  const double scale = bins / (hi - lo);
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    if (v >= lo && v <= hi) ++counts[BinOf(v, lo, scale, bins)];  // never NaN
  }
}

struct Outside {
  int64_t below = 0;  // NaN included
  int64_t above = 0;
};

// Writes trunc((v - lo) * scale), computed in double like the reference, for a block of m
// values. Every position must land in [0, bins] so that it can index the counts without a
// test: with kClamp, values are first clamped to [lo_up, hi_down], the floats of [lo, hi]
// (NaN goes to lo_up), and those outside are counted instead, to be taken back from the
// bins they were put in. Without, every value must lie in [lo, hi].
template <bool kClamp>
Outside BinPositions(const float* x, int m, double lo, double scale, float lo_up, float hi_down,
                     int32_t* position) {
  int64_t below = 0, above = 0;
#pragma omp simd reduction(+ : below, above)
  for (int j = 0; j < m; ++j) {
    float v = x[j];
    if constexpr (kClamp) {
      below += !(v >= lo_up);
      above += v > hi_down;
      v = v > lo_up ? v : lo_up;  // this operand order sends NaN to lo_up
      v = v < hi_down ? v : hi_down;
    }
    position[j] = static_cast<int32_t>((v - lo) * scale);
  }
  return {below, above};
}

// Adds to counts[bins] the histogram of x over [lo, hi]: v in [lo, hi] goes to bin
// min(trunc((v - lo) * (bins / (hi - lo))), bins - 1) computed in double, NaN nowhere.
// `clamp` may be false only when every value lies in [lo, hi].
FANIN_ISA_CLONES void Histogram(const float* x, int64_t n, double lo, double hi, int bins,
                                bool clamp, int64_t* counts) {
  const double scale = bins / (hi - lo);
  // v >= lo exactly when v >= lo_up, and v <= hi when v <= hi_down, for any float v.
  float lo_up = static_cast<float>(lo), hi_down = static_cast<float>(hi);
  if (lo_up < lo) lo_up = std::nextafter(lo_up, kInf);
  if (hi_down > hi) hi_down = std::nextafter(hi_down, -kInf);
  if (!(lo < hi) || !std::isfinite(lo_up) || !std::isfinite(hi_down) || lo_up > hi_down ||
      !std::isfinite(scale) || bins == std::numeric_limits<int>::max()) {  // bins + 1 slots
    ScalarHistogram(x, n, lo, hi, bins, counts);
    return;
  }

  // Positions are computed a block at a time into a small buffer, then counted into four
  // copies of the counts in turn, so that consecutive increments of one bin (a narrow or
  // constant tensor) do not wait on each other's store. Slot `bins` takes position bins
  // (v = hi, or just below it), folded into the last bin at the end.
  constexpr int kBlock = 1024;
  constexpr int kCopies = 4;
  const int stride = bins + 1;
  std::vector<int64_t> copies(static_cast<size_t>(kCopies) * stride, 0);
  int64_t* copy0 = copies.data();
  int64_t* copy1 = copy0 + stride;
  int64_t* copy2 = copy1 + stride;
  int64_t* copy3 = copy2 + stride;
  int32_t position[kBlock];
  Outside outside;
  for (int64_t start = 0; start < n; start += kBlock) {
    const float* block = x + start;
    const int m = static_cast<int>(std::min<int64_t>(kBlock, n - start));
    const Outside o = clamp ? BinPositions<true>(block, m, lo, scale, lo_up, hi_down, position)
                            : BinPositions<false>(block, m, lo, scale, lo_up, hi_down, position);
    outside.below += o.below;
    outside.above += o.above;
    int j = 0;
    for (; j + kCopies <= m; j += kCopies) {
      ++copy0[position[j]];
      ++copy1[position[j + 1]];
      ++copy2[position[j + 2]];
      ++copy3[position[j + 3]];
    }
    for (; j < m; ++j) ++copy0[position[j]];
  }
  for (int b = 0; b <= bins; ++b) {
    counts[std::min(b, bins - 1)] += copy0[b] + copy1[b] + copy2[b] + copy3[b];
  }
  counts[BinOf(lo_up, lo, scale, bins)] -= outside.below;
  counts[BinOf(hi_down, lo, scale, bins)] -= outside.above;
}

}  // namespace

TensorStats ComputeTensorStats(const float* x, int64_t n, const HistogramSpec& histogram) {
  TensorStats s;
  s.count = n;
  Moments m = FiniteMoments(x, n);
  const bool all_finite = std::isfinite(m.sum);
  if (!all_finite) m = MaskedMoments(x, n);
  s.nan_count = m.nan;
  s.inf_count = m.inf;
  const int64_t finite = n - m.nan - m.inf;
  if (finite > 0) {
    s.mean = m.sum / static_cast<double>(finite);
    s.std = std::sqrt(SquaredDeviations(x, n, s.mean, all_finite) / static_cast<double>(finite));
    s.min = m.min;
    s.max = m.max;
  }
  if (histogram.bins > 0) {
    // numpy's rule: an empty range (a constant tensor) is widened to [lo - 0.5, hi + 0.5].
    double lo = histogram.auto_range ? s.min : histogram.lo;
    double hi = histogram.auto_range ? s.max : histogram.hi;
    if (hi <= lo) {
      lo -= 0.5;
      hi += 0.5;
    }
    s.hist_lo = static_cast<float>(lo);
    s.hist_hi = static_cast<float>(hi);
    s.histogram.assign(static_cast<size_t>(histogram.bins), 0);
    // The tensor's own range holds every value when all are finite.
    const bool clamp = !histogram.auto_range || !all_finite;
    Histogram(x, n, lo, hi, histogram.bins, clamp, s.histogram.data());
  }
  return s;
}

// ---- Fused statistics -------------------------------------------------------------------------
namespace {

struct ChunkMoments {
  double sum, sum_sq;
  int32_t nan, inf, zeros, saturated;  // a chunk has at most TensorSummary::kChunk values
  float min, max;
};

// The common case, every value finite: sums of deviations from the shift, their squares, min,
// max, zeros and (kBand) saturated values, with no NaN/Inf tests. The two halves of the chunk
// are summed side by side, so that the loop waits on two adder chains, not one. One NaN or Inf
// makes a sum NaN or Inf (finite floats cannot overflow these double sums: |d|^2 < 5e77), and
// the caller then takes the masked pass instead.
template <bool kBand>
[[gnu::always_inline]] inline ChunkMoments FiniteChunk(const float* x, int64_t n, float shift,
                                                      SaturationBand band) {
  const int64_t half = n / 2;
  const float* y = x + half;
  const double s = shift;
  double sum_x = 0.0, sum_y = 0.0, sq_x = 0.0, sq_y = 0.0;
  int32_t zeros = 0, saturated = 0;
  float lo = kInf, hi = -kInf;
#pragma omp simd reduction(+ : sum_x, sum_y, sq_x, sq_y, zeros, saturated) reduction(min : lo) \
    reduction(max : hi)
  for (int64_t i = 0; i < half; ++i) {
    const float a = x[i], b = y[i];
    const double da = a - s, db = b - s;
    sum_x += da;
    sum_y += db;
    sq_x += da * da;
    sq_y += db * db;
    zeros += (a == 0.0f) + (b == 0.0f);
    if constexpr (kBand) saturated += ((a < band.lo) | (a > band.hi)) + ((b < band.lo) | (b > band.hi));
    const float low = b < a ? b : a, high = b > a ? b : a;
    lo = low < lo ? low : lo;
    hi = high > hi ? high : hi;
  }
  ChunkMoments m{sum_x + sum_y, sq_x + sq_y, 0, 0, zeros, saturated, lo, hi};
  if (n % 2 != 0) {
    const float v = x[n - 1];
    const double d = v - s;
    m.sum += d;
    m.sum_sq += d * d;
    m.zeros += v == 0.0f;
    if constexpr (kBand) m.saturated += (v < band.lo) | (v > band.hi);
    m.min = std::min(m.min, v);
    m.max = std::max(m.max, v);
  }
  return m;
}

// The exact pass when some value is NaN or Inf: each value's tests, and a deviation of 0 for
// NaN and Inf, so that they add nothing.
FANIN_ISA_CLONES ChunkMoments MaskedChunk(const float* x, int64_t n, float shift,
                                          SaturationBand band) {
  double sum = 0.0, sum_sq = 0.0;
  int32_t nan = 0, inf = 0, zeros = 0, saturated = 0;
  float lo = kInf, hi = -kInf;
  const double s = shift;
#pragma omp simd reduction(+ : sum, sum_sq, nan, inf, zeros, saturated) reduction(min : lo) \
    reduction(max : hi)
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const uint32_t bits = MagnitudeBits(v);
    const bool finite = bits < kInfBits;
    nan += bits > kInfBits;
    inf += bits == kInfBits;
    zeros += bits == 0;
    saturated += (v < band.lo) | (v > band.hi);
    const double d = static_cast<double>(Select(finite, v, shift)) - s;
    sum += d;
    sum_sq += d * d;
    const float low = Select(finite, v, kInf), high = Select(finite, v, -kInf);
    lo = low < lo ? low : lo;
    hi = high > hi ? high : hi;
  }
  return {sum, sum_sq, nan, inf, zeros, saturated, lo, hi};
}

// Most tensors have no saturation band (only tanh's and sigmoid's activations do), so its
// tests are compiled out of their loop.
FANIN_ISA_CLONES ChunkMoments FiniteChunkNoBand(const float* x, int64_t n, float shift) {
  return FiniteChunk<false>(x, n, shift, {});
}
FANIN_ISA_CLONES ChunkMoments FiniteChunkBand(const float* x, int64_t n, float shift,
                                              SaturationBand band) {
  return FiniteChunk<true>(x, n, shift, band);
}

ChunkMoments SummarizeChunk(const float* x, int64_t n, float shift, SaturationBand band) {
  const bool has_band = band.lo != -kInf || band.hi != kInf;
  const ChunkMoments m =
      has_band ? FiniteChunkBand(x, n, shift, band) : FiniteChunkNoBand(x, n, shift);
  if (std::isfinite(m.sum) && std::isfinite(m.sum_sq)) return m;
  return MaskedChunk(x, n, shift, band);
}

// Adds the log2-magnitude bins of x to kCopies copies of the counts in turn, so that
// consecutive values in one bin (the common case: a layer's values span a few octaves) do not
// wait on each other's increment: each increment is a load and a store that the next one to
// the same counter must wait for.
FANIN_ISA_CLONES void Log2Histogram(const float* x, int64_t n, uint32_t* copies) {
  constexpr int kCopies = TensorSummary::kHistogramCopies;
  int64_t i = 0;
  for (; i + kCopies <= n; i += kCopies) {
    for (int c = 0; c < kCopies; ++c) ++copies[c * kLog2Bins + Log2Bin(x[i + c])];
  }
  for (; i < n; ++i) ++copies[Log2Bin(x[i])];
}

}  // namespace

TensorSummary::TensorSummary(int64_t n, float shift, const StatsOut& out, int threads)
    : n_(n), shift_(shift), out_(out), per_chunk_(static_cast<size_t>(Chunks(n))) {
  per_thread_.resize(static_cast<size_t>(std::max(threads, 1)));
  for (Exact& e : per_thread_) {
    e.min = kInf;
    e.max = -kInf;
  }
}

void TensorSummary::Add(int thread, int64_t chunk, const float* x, int64_t length) {
  const ChunkMoments m = SummarizeChunk(x, length, shift_, out_.saturation);
  per_chunk_[static_cast<size_t>(chunk)] = {m.sum, m.sum_sq};
  Exact& e = per_thread_[static_cast<size_t>(thread)];
  e.nan += m.nan;
  e.inf += m.inf;
  e.zeros += m.zeros;
  e.saturated += m.saturated;
  e.min = std::min(e.min, m.min);
  e.max = std::max(e.max, m.max);
  if (out_.buffer->log2_histograms()) {
    // Allocated by the first chunk a thread takes: a thread that takes none costs nothing.
    // uint32 copies halve the memory the increments touch; flushed to int64 long before a
    // copy could reach 2^32.
    if (e.copies.empty()) e.copies.assign(kHistogramCopies * kLog2Bins, 0);
    if (e.histogram.empty()) e.histogram.assign(kLog2Bins, 0);
    Log2Histogram(x, length, e.copies.data());
    e.pending += length;
    if (e.pending > (int64_t{1} << 33)) Flush(e);
  }
}

void TensorSummary::Flush(Exact& e) {
  for (int b = 0; b < kLog2Bins; ++b) {
    for (int c = 0; c < kHistogramCopies; ++c) {
      e.histogram[b] += e.copies[c * kLog2Bins + b];
      e.copies[c * kLog2Bins + b] = 0;
    }
  }
  e.pending = 0;
}

void TensorSummary::Finish() {
  float* storage = out_.buffer->storage().data();
  StatsSlot slot{};
  slot.count = n_;
  slot.shift = shift_;
  slot.min = kInf;
  slot.max = -kInf;
  for (const Sums& c : per_chunk_) {
    slot.sum += c.sum;
    slot.sum_sq += c.sum_sq;
  }
  int64_t* counts = out_.buffer->log2_histograms()
                        ? HistogramOf(storage, out_.buffer->slots(), out_.slot)
                        : nullptr;
  if (counts != nullptr) std::fill_n(counts, kLog2Bins, 0);
  for (Exact& e : per_thread_) {
    if (!e.copies.empty()) Flush(e);
    slot.nan += e.nan;
    slot.inf += e.inf;
    slot.zeros += e.zeros;
    slot.saturated += e.saturated;
    slot.min = std::min(slot.min, e.min);
    slot.max = std::max(slot.max, e.max);
    for (size_t b = 0; b < e.histogram.size(); ++b) counts[b] += e.histogram[b];
  }
  SlotsOf(storage)[out_.slot] = slot;
}

void SummarizedUpdate(int threads, const ParameterStats& stats, const float* p, const float* g,
                      int64_t n, const std::function<void(int64_t, int64_t, float*)>& update) {
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

namespace {

// Chunks spread over the threads by ParallelFor: each chunk is summarized by one thread.
void Summarize(Backend& backend, const Tensor& t, const StatsOut& out) {
  const int64_t n = t.size();
  const float* x = t.data();
  const int threads = static_cast<CpuBackend&>(backend).num_threads();
  TensorSummary summary(n, n > 0 ? ShiftOf(x[0]) : 0.0f, out, threads);
  ParallelFor(TensorSummary::Chunks(n), threads, 1, n * TensorSummary::kWorkPerValue,
              [&](int64_t begin, int64_t end) {
    const int thread = omp_get_thread_num();
    for (int64_t c = begin; c < end; ++c) {
      const int64_t start = c * TensorSummary::kChunk;
      summary.Add(thread, c, x + start, std::min(TensorSummary::kChunk, n - start));
    }
  });
  summary.Finish();
}

// Tensors are independent, so they are spread over the threads whole: each tensor's
// statistics are computed by one thread in one fixed order, the same bits on any count.
std::vector<TensorStats> Stats(Backend& backend, std::span<const Tensor* const> tensors,
                               const HistogramSpec& histogram) {
  std::vector<TensorStats> all(tensors.size());
  const auto count = static_cast<int64_t>(tensors.size());
  int64_t elements = 0;
  for (const Tensor* t : tensors) elements += t->size();
  const int threads = elements < kParallelMinElements
                          ? 1
                          : static_cast<int>(std::min<int64_t>(
                                static_cast<CpuBackend&>(backend).num_threads(), count));
#pragma omp parallel for schedule(dynamic) num_threads(threads) if (threads > 1)
  for (int64_t i = 0; i < count; ++i) {
    all[i] = ComputeTensorStats(tensors[i]->data(), tensors[i]->size(), histogram);
  }
  return all;
}

const bool kRegistered = Kernels<StatsOp>::Register<CpuBackend>(Stats) &&
                         Kernels<SummarizeOp>::Register<CpuBackend>(Summarize);

}  // namespace
}  // namespace fanin::ops::internal
