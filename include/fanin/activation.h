// The element-wise activations of the framework, by enum and by Keras name.
#pragma once

#include <string_view>

// The table of activations, one line each; everything about an activation comes from its line:
// the enum and the names below, the shared math (ops/activation/math.h, expanded for
// the CPU loops and the CUDA kernels), the CPU's choice of oneDNN and the tests' list. The
// tests' double reference (tests/test_util.h) is the one other place an activation is
// written, on purpose: it checks this table instead of copying it.
//
// X(tag, name, reads, onednn, f(z), f'(z, a)):
//   tag     the enum value.
//   name    as Keras spells it.
//   reads   what the derivative reads: kZ, kOutput (a = f(z)) or kNothing. The backward
//           pass reads whichever makes f' cheapest: sigmoid' = a (1 - a) and tanh' = 1 - a^2
//           need no transcendental.
//   onednn  the oneDNN eltwise algorithm that computes f on the CPU (vectorized for the
//           machine, and the bits the CPU has always produced), or undef for a plain loop of
//           the formula.
//   f, f'   float expressions of z and a, compiled for the host and for the GPU. NaN in, NaN
//           out (docs/design.md): relu(NaN) = relu'(NaN) = NaN; relu(-0) = +0; relu'(0) = 0 as
//           in TensorFlow; sigmoid's expf(-z) = inf for z < -88 gives exactly 0.
// Only the first two columns are expanded in this header; the rest are tokens until then.
// Every line ends in a backslash at column 100 and a comment line ends the table, so that adding
// an activation adds its lines and changes no other.
// clang-format off
#define FANIN_ACTIVATIONS(X)                                                                       \
  X(kLinear, "linear", kNothing, undef, z, 1.0f)                                                   \
  X(kSigmoid, "sigmoid", kOutput, eltwise_logistic, 1.0f / (1.0f + expf(-z)), a * (1.0f - a))      \
  X(kTanh, "tanh", kOutput, eltwise_tanh, tanhf(z), 1.0f - a * a)                                  \
  X(kRelu, "relu", kZ, undef, (z > 0.0f || z != z) ? z : 0.0f,                                     \
    z > 0.0f ? 1.0f : (z != z ? z : 0.0f))                                                         \
  X(kSoftplus, "softplus", kZ, undef, z > 0.0f ? z + log1pf(expf(-z)) : log1pf(expf(z)),           \
    1.0f / (1.0f + expf(-z)))                                                                      \
  X(kGelu, "gelu", kZ, undef, 0.5f * z * (1.0f + erff(z * 0.70710678f)),                           \
    0.5f * (1.0f + erff(z * 0.70710678f)) + z * 0.39894228f * expf(-0.5f * z * z))                 \
  X(kSilu, "silu", kZ, undef, Activate<Activation::kSigmoid>(z) * z,                               \
    Activate<Activation::kSigmoid>(z) * (1.0f + z * (1.0f - Activate<Activation::kSigmoid>(z))))   \
  X(kElu, "elu", kZ, undef, z > 0.0f ? z : expm1f(z), z > 0.0f ? 1.0f : expf(z))                   \
  X(kHardSigmoid, "hard_sigmoid", kZ, undef,                                                       \
    z != z ? z : fminf(fmaxf(z + 3.0f, 0.0f), 6.0f) / 6.0f,                                        \
    z > -3.0f && z < 3.0f ? 1.0f / 6.0f : (z != z ? z : 0.0f))                                     \
  // (end of the table)
// clang-format on

namespace fanin {

#define FANIN_ACTIVATION_TAG(tag, ...) tag,
enum class Activation { FANIN_ACTIVATIONS(FANIN_ACTIVATION_TAG) };
// Every activation, in table order (the tests run each).
inline constexpr Activation kActivations[] = {
#define FANIN_ACTIVATION_VALUE(tag, ...) Activation::tag,
    FANIN_ACTIVATIONS(FANIN_ACTIVATION_VALUE)};
#undef FANIN_ACTIVATION_VALUE
#undef FANIN_ACTIVATION_TAG

// The names of the table, and "" and "none" for linear. An unknown name throws
// std::invalid_argument listing the valid ones.
Activation ParseActivation(std::string_view name);
std::string_view ActivationName(Activation activation);

}  // namespace fanin
