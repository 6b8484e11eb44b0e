// Host-side launchers of fanin's own CUDA kernels, one group per .cu file.
//
// Plain C++ (the backend, compiled by the host compiler, calls these): raw device pointers,
// sizes already validated by the caller, every launch enqueued on `stream` and checked.
// None of them waits for the device except ComputeStats, which returns host values.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <span>
#include <vector>

#include "cuda/memory.h"
#include "fanin/backend.h"

namespace fanin::gpu {

// ---- random_fill.cu: fills ----------------------------------------------------------------
void LaunchFill(float* x, int64_t n, float value, cudaStream_t stream);
// x[i] = RandomValue(spec, i), bit for bit what the CPU backend computes.
void LaunchFillRandom(float* x, int64_t n, const RandomSpec& spec, cudaStream_t stream);

// ---- data_kernels.cu: data movement -------------------------------------------------------
// dst row r = src row indices[r]; `indices` is a device array of `rows` entries.
void LaunchGatherRows(const float* src, const int64_t* indices, int64_t rows, int64_t cols,
                      float* dst, cudaStream_t stream);

// ---- activation_kernels.cu: activations, forward and backward -----------------------------
// a = act(z + bias) over a [rows x cols] matrix, bias [cols] broadcast over rows; when
// z_out is given (it may equal z), z_out = z + bias as well. bias may be null (no bias).
// a may alias z.
void LaunchBiasActivationForward(Activation act, const float* bias, const float* z, float* z_out,
                                 float* a, int64_t rows, int64_t cols, cudaStream_t stream);
// dz = da * act'(z) (act' from a where cheaper), dz may alias da; when bias_grad is given,
// bias_grad[j] = sum over rows of dz[:, j] in a fixed order (no atomics) that depends on
// the shape and on sm_count (the GPU's SM count, which sizes the grid).
void LaunchActivationBackward(Activation act, const float* z, const float* a, const float* da,
                              float* dz, int64_t rows, int64_t cols, float* bias_grad, int sm_count,
                              CachingAllocator& allocator, cudaStream_t stream);
// sums[j] = sum over rows of x[:, j], the same deterministic reduction as above.
void LaunchColumnSums(const float* x, int64_t rows, int64_t cols, float* sums, int sm_count,
                      CachingAllocator& allocator, cudaStream_t stream);

// ---- bce_kernels.cu: binary cross-entropy --------------------------------------------------
// Loss, correct count and (when grad is given) gradient of n samples in one launch;
// totals[0] = loss sum, totals[1] = correct count (see Backend::BinaryCrossEntropy).
void LaunchBinaryCrossEntropy(BceInput input, const float* output, const float* labels, int64_t n,
                              float grad_scale, float* grad, float* totals, cudaStream_t stream);

// ---- optimizer_kernels.cu: one launch per update over the flat parameter buffer ------------
void LaunchSgdUpdate(const SgdStep& step, float* params, const float* grads, float* velocity,
                     int64_t n, cudaStream_t stream);
void LaunchAdamUpdate(const AdamStep& step, float* params, const float* grads, float* m, float* v,
                      int64_t n, cudaStream_t stream);

// ---- stats.cu: statistics ------------------------------------------------------------------
// Backend::Stats for device arrays data[t] of sizes[t] floats: every reduction enqueued,
// then one copy of all results to the host and one wait.
std::vector<TensorStats> ComputeStats(std::span<const float* const> data,
                                      std::span<const int64_t> sizes,
                                      const HistogramSpec& histogram, CachingAllocator& allocator,
                                      cudaStream_t stream);

}  // namespace fanin::gpu
