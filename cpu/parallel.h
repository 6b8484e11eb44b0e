// The CPU backend's one way to spread a loop over threads.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace fanin {

// Below this many elements a loop runs on the calling thread: the fork and join cost more
// than the second core saves (W1's 1000 x 100 layers stay serial, W2's 1024 x 1024 do not).
inline constexpr int64_t kParallelMinElements = int64_t{1} << 17;

// Runs body(begin, end) over [0, n) split into one contiguous chunk per thread, chunk
// boundaries on multiples of `grain` (a vector's worth of columns, say), on `threads` OpenMP
// threads: the pool oneDNN's primitives run on, so the two never compete for cores. The
// split depends only on n and threads; a body that writes disjoint outputs per chunk
// therefore gives the same bits whatever the thread count. `elements` is the work size
// compared with kParallelMinElements (n itself unless a chunk index stands for more).
template <typename Body>
void ParallelFor(int64_t n, int threads, int64_t grain, int64_t elements, Body&& body) {
  const int64_t chunks = (n + grain - 1) / grain;
  const int used = static_cast<int>(std::min<int64_t>(threads, chunks));
  if (used <= 1 || elements < kParallelMinElements) {
    body(int64_t{0}, n);
    return;
  }
#pragma omp parallel num_threads(used)
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t begin = std::min(n, chunks * t / nt * grain);
    const int64_t end = std::min(n, chunks * (t + 1) / nt * grain);
    if (begin < end) body(begin, end);
  }
}

}  // namespace fanin
