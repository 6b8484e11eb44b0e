// The end of every loss kernel (ops/bce, ops/softmax_ce, ops/regression_loss; .cu files only):
// the loss kernels run as one block of kThreads threads, each summing its samples' loss and
// metric in double; this adds the threads' sums in a fixed tree order and writes totals[0]
// and totals[1]. No atomics, so the same bits every run. Counts stay exact in double.
#pragma once

namespace fanin::gpu {

template <int kThreads>
__device__ void WriteLossTotals(double loss, double metric, float* totals) {
  static_assert((kThreads & (kThreads - 1)) == 0, "the tree halves a power of two");
  __shared__ double loss_sum[kThreads];
  __shared__ double metric_sum[kThreads];
  loss_sum[threadIdx.x] = loss;
  metric_sum[threadIdx.x] = metric;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) {
      loss_sum[threadIdx.x] += loss_sum[threadIdx.x + half];
      metric_sum[threadIdx.x] += metric_sum[threadIdx.x + half];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    totals[0] = static_cast<float>(loss_sum[0]);
    totals[1] = static_cast<float>(metric_sum[0]);
  }
}

}  // namespace fanin::gpu
