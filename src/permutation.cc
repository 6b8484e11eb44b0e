#include "src/permutation.h"

#include <numeric>
#include <utility>

#include "fanin/random.h"

namespace fanin {

void SeededPermutation(std::vector<int64_t>& order, uint64_t seed, uint32_t stream) {
  std::iota(order.begin(), order.end(), int64_t{0});
  for (auto i = static_cast<int64_t>(order.size()) - 1; i > 0; --i) {
    const uint64_t bits = RandomBits64(seed, stream, static_cast<uint64_t>(i));
    std::swap(order[static_cast<size_t>(i)], order[bits % static_cast<uint64_t>(i + 1)]);
  }
}

}  // namespace fanin
