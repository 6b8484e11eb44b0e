// The seeded permutation Fit shuffles with and TrainTestSplit splits with.
#pragma once

#include <cstdint>
#include <vector>

namespace fanin {

// 0, ..., order.size() - 1 in the order of a Fisher-Yates shuffle driven by the Philox
// stream (seed, stream): the same order on every backend and thread count.
void SeededPermutation(std::vector<int64_t>& order, uint64_t seed, uint32_t stream);

}  // namespace fanin
