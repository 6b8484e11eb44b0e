// Dropout's reference: the keep rule computed another way, through RandomValue's uniform
// (the same Philox draw turned into a double in [0, 1) and compared with the rate in double),
// so a wrong counter layout, threshold or comparison in the op shows.
#pragma once

#include <cstdint>

#include "fanin/ops.h"
#include "fanin/random.h"

namespace fanin::testing {

inline bool RefKeep(const DropoutMask& mask, uint64_t i) {
  const RandomSpec uniform{RandomDistribution::kUniform, 0.0, 1.0, mask.seed, mask.stream};
  return static_cast<double>(RandomValue(uniform, (mask.step << 32) | i)) >=
         static_cast<double>(mask.rate);
}

}  // namespace fanin::testing
