// The math of the activation table (FANIN_ACTIVATIONS in fanin/activation.h) as inline
// functions that the CPU loops and the CUDA kernels both compile, so that each formula is
// written once: Activate<kAct>(z) = f(z) and Derivative<kAct>(z, a) = f'(z), given z and
// a = f(z) (only the one the table's `reads` column names is meaningful). One instantiation
// per activation keeps the switch out of the loops, so GCC vectorizes them.
#pragma once

#include <math.h>  // expf, tanhf: the same names on the host and in device code

#include "fanin/activation.h"

#if defined(__CUDACC__)
#define FANIN_HD __host__ __device__ __forceinline__
#else
#define FANIN_HD inline
#endif

namespace fanin {

// The table's `reads` column.
enum class DerivativeReads { kNothing, kZ, kOutput };
template <Activation kAct>
inline constexpr DerivativeReads kDerivativeReads = DerivativeReads::kZ;

template <Activation kAct>
FANIN_HD float Activate(float z);
template <Activation kAct>
FANIN_HD float Derivative(float z, float a);

#define FANIN_X(tag, name, reads, onednn, forward, derivative)                                     \
  template <>                                                                                      \
  FANIN_HD float Activate<Activation::tag>([[maybe_unused]] float z) {                             \
    return forward;                                                                                \
  }                                                                                                \
  template <>                                                                                      \
  FANIN_HD float Derivative<Activation::tag>([[maybe_unused]] float z, [[maybe_unused]] float a) { \
    return derivative;                                                                             \
  }                                                                                                \
  template <>                                                                                      \
  inline constexpr DerivativeReads kDerivativeReads<Activation::tag> = DerivativeReads::reads;
FANIN_ACTIVATIONS(FANIN_X)
#undef FANIN_X

inline DerivativeReads DerivativeReadsOf(Activation act) {
  switch (act) {
#define FANIN_X(tag, ...) \
  case Activation::tag:   \
    return kDerivativeReads<Activation::tag>;
    FANIN_ACTIVATIONS(FANIN_X)
#undef FANIN_X
  }
  return DerivativeReads::kZ;
}

}  // namespace fanin
