// FANIN_HD marks the inline math that the CPU loops and the CUDA kernels share, so that each
// formula is written once (ops/activation/math.h, ops/loss_math.h).
#pragma once

#if defined(__CUDACC__)
#define FANIN_HD __host__ __device__ __forceinline__
#else
#define FANIN_HD inline
#endif
