// Dropout's keep rule, shared by the CPU loop and the CUDA kernel so that both drop the same
// elements: element i is kept when the top 24 bits of word 0 of Philox4x32-10 at counter
// (i, step, stream, 0) with key seed, read as u = bits / 2^24 in [0, 1) (RandomValue's
// uniform), satisfy u >= rate; as integers, bits >= ceil(rate 2^24), so no rounding differs
// between devices. Kept elements are scaled by 1 / (1 - rate) (inverted dropout: inference
// needs no scaling).
#pragma once

#include <cmath>
#include <cstdint>

#include "fanin/ops.h"
#include "fanin/random.h"
#include "ops/host_device.h"

namespace fanin::ops::internal {

// ceil(rate 2^24): the smallest 24-bit draw that is kept. rate in [0, 1).
inline uint32_t KeepThreshold(float rate) {
  return static_cast<uint32_t>(std::ceil(static_cast<double>(rate) * 16777216.0));
}

FANIN_HD bool Keep(const DropoutMask& mask, uint32_t threshold, uint64_t i) {
  const Philox4x32 r = PhiloxBlock(mask.seed, mask.stream, (mask.step << 32) | i, 0);
  return (r.w[0] >> 8) >= threshold;
}

}  // namespace fanin::ops::internal
