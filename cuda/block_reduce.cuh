// A block-wide sum of two doubles in a fixed tree order, the result given to every thread
// (.cu files only). The same bits on every run: no atomics, and the tree depends on the block
// size only. Used by the loss kernels' totals and by the batch-norm column reductions.
#pragma once

namespace fanin::gpu {

struct DoublePair {
  double a, b;
};

template <int kThreads>
__device__ DoublePair BlockSum(double a, double b) {
  static_assert((kThreads & (kThreads - 1)) == 0, "the tree halves a power of two");
  __shared__ double sum_a[kThreads];
  __shared__ double sum_b[kThreads];
  sum_a[threadIdx.x] = a;
  sum_b[threadIdx.x] = b;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) {
      sum_a[threadIdx.x] += sum_a[threadIdx.x + half];
      sum_b[threadIdx.x] += sum_b[threadIdx.x + half];
    }
    __syncthreads();
  }
  const DoublePair total{sum_a[0], sum_b[0]};
  __syncthreads();  // the shared arrays may be reused by the next call
  return total;
}

}  // namespace fanin::gpu
