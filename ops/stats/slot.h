// The layout of a StatsBuffer (fanin/ops.h), shared by the CPU and CUDA implementations of the
// fused statistics: `slots` StatsSlot headers, then, when the buffer has histograms, `slots`
// arrays of kLog2Bins counts. The same bytes on every backend, so StatsBuffer::Read decodes
// one host copy of any of them.
#pragma once

#include <cstdint>
#include <cstring>

#include "fanin/ops.h"
#include "fanin/random.h"  // FANIN_HOST_DEVICE

namespace fanin::ops::internal {

struct StatsSlot {
  int64_t count;
  int64_t nan;
  int64_t inf;
  int64_t zeros;
  int64_t saturated;
  double sum;     // of v - shift over the finite values
  double sum_sq;  // of (v - shift)^2 over the finite values
  float shift;
  float min;  // of the finite values; +Inf when there are none
  float max;
  int32_t unused;  // keeps the size a multiple of 8 bytes on every compiler
};
static_assert(sizeof(StatsSlot) == 72);

// The tensor's first value when finite, else 0: one value that the passes over the chunks of
// a tensor agree on before any of them starts, close enough to the mean that
// sum((v - shift)^2) / n - (sum(v - shift) / n)^2 keeps the variance's digits (the
// cancellation is that of (mean - shift)^2 against the variance, not mean^2 against it).
FANIN_HOST_DEVICE inline float ShiftOf(float first) {
  return (first - first == 0.0f) ? first : 0.0f;  // false for NaN and +-Inf
}

// The log2-magnitude bin of v (fanin/ops.h's kLog2Bins).
FANIN_HOST_DEVICE inline int Log2Bin(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return static_cast<int>(bits >> 23);
}

// Floats of storage for a buffer of `slots` slots.
inline int64_t StatsBufferFloats(int64_t slots, bool log2_histograms) {
  const int64_t bytes =
      slots * static_cast<int64_t>(sizeof(StatsSlot)) +
      (log2_histograms ? slots * kLog2Bins * static_cast<int64_t>(sizeof(int64_t)) : 0);
  return bytes / static_cast<int64_t>(sizeof(float));
}

inline StatsSlot* SlotsOf(float* storage) { return reinterpret_cast<StatsSlot*>(storage); }
inline const StatsSlot* SlotsOf(const float* storage) {
  return reinterpret_cast<const StatsSlot*>(storage);
}
// Slot `slot`'s kLog2Bins counts (valid only for a buffer with histograms).
inline int64_t* HistogramOf(float* storage, int64_t slots, int64_t slot) {
  return reinterpret_cast<int64_t*>(SlotsOf(storage) + slots) + slot * kLog2Bins;
}

}  // namespace fanin::ops::internal
