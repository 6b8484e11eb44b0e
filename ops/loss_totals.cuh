// The end of every loss kernel (ops/bce, ops/softmax_ce, ops/regression_loss; .cu files only):
// the loss kernels run as one block of kThreads threads, each summing its samples' loss and
// metric in double; this adds the threads' sums in a fixed tree order (cuda/block_reduce.cuh)
// and writes totals[0] and totals[1]. Counts stay exact in double.
#pragma once

#include "cuda/block_reduce.cuh"

namespace fanin::gpu {

template <int kThreads>
__device__ void WriteLossTotals(double loss, double metric, float* totals) {
  const DoublePair sums = BlockSum<kThreads>(loss, metric);
  if (threadIdx.x == 0) {
    totals[0] = static_cast<float>(sums.a);
    totals[1] = static_cast<float>(sums.b);
  }
}

}  // namespace fanin::gpu
