// The math of the activation table (FANIN_ACTIVATIONS in fanin/activation.h) as inline
// functions that the CPU loops and the CUDA kernels both compile, so that each formula is
// written once: Activate<kAct>(z, alpha) = f(z) and Derivative<kAct>(z, a, alpha) = f'(z), given
// z and a = f(z) (only the one the table's `reads` column names is meaningful) and the spec's
// alpha (read only by the activations with a parameter). One instantiation per activation keeps
// the switch out of the loops, so GCC vectorizes them; alpha is a loop-invariant argument.
#pragma once

#include <math.h>  // expf, tanhf: the same names on the host and in device code

#include "fanin/activation.h"
#include "ops/host_device.h"

namespace fanin {

// The table's `reads` column.
enum class DerivativeReads { kNothing, kZ, kOutput };
template <Activation kAct>
inline constexpr DerivativeReads kDerivativeReads = DerivativeReads::kZ;

template <Activation kAct>
FANIN_HD float Activate(float z, float alpha);
template <Activation kAct>
FANIN_HD float Derivative(float z, float a, float alpha);

#define FANIN_X(tag, name, alias, param, reads, onednn, forward, derivative)                     \
  template <>                                                                                    \
  FANIN_HD float Activate<Activation::tag>([[maybe_unused]] float z,                             \
                                           [[maybe_unused]] float alpha) {                       \
    return forward;                                                                              \
  }                                                                                              \
  template <>                                                                                    \
  FANIN_HD float Derivative<Activation::tag>([[maybe_unused]] float z, [[maybe_unused]] float a, \
                                             [[maybe_unused]] float alpha) {                     \
    return derivative;                                                                           \
  }                                                                                              \
  template <>                                                                                    \
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
