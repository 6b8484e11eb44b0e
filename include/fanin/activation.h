// The element-wise activations of the framework, by enum and by Keras name, with their parameter.
#pragma once

#include <string>
#include <string_view>

// The table of activations, one line each; everything about an activation comes from its line:
// the enum and the names below, the shared math (ops/activation/math.h, expanded for
// the CPU loops and the CUDA kernels), the CPU's choice of oneDNN and the tests' list. The
// tests' double reference (ops/activation/reference.h) is the one other place an activation is
// written, on purpose: it checks this table instead of copying it.
//
// X(tag, name, alias, param, reads, onednn, f(z), f'(z, a)):
//   tag     the enum value.
//   name    as Keras spells it: what ActivationName prints and checkpoints save.
//   alias   another name ParseActivation accepts for the same function, or "".
//   param   alpha(default) when the activation has a parameter, which the formulas read as the
//           float `alpha` and a user sets as "name(value)"; none when it has none.
//   reads   what the derivative reads: kZ, kOutput (a = f(z)) or kNothing. The backward
//           pass reads whichever makes f' cheapest: sigmoid' = a (1 - a) and tanh' = 1 - a^2
//           need no transcendental.
//   onednn  the oneDNN eltwise algorithm that computes f on the CPU, given the activation's
//           alpha as oneDNN's alpha (vectorized for the machine, and the bits the CPU has
//           always produced), or undef for a plain loop of the formula.
//   f, f'   float expressions of z, a and alpha, compiled for the host and for the GPU. NaN in,
//           NaN out (docs/design.md): relu(NaN) = relu'(NaN) = NaN; relu(-0) = +0; relu'(0) = 0
//           as in TensorFlow; sigmoid's expf(-z) = inf for z < -88 gives exactly 0.
// Only the first four columns are expanded in this header; the rest are tokens until then.
// Every line ends in a backslash at column 100 and a comment line ends the table, so that adding
// an activation adds its lines and changes no other.
// clang-format off
#define FANIN_ACTIVATIONS(X)                                                                       \
  X(kLinear, "linear", "none", none, kNothing, undef, z, 1.0f)                                     \
  X(kSigmoid, "sigmoid", "", none, kOutput, eltwise_logistic, 1.0f / (1.0f + expf(-z)),            \
    a * (1.0f - a))                                                                                \
  X(kTanh, "tanh", "", none, kOutput, eltwise_tanh, tanhf(z), 1.0f - a * a)                        \
  X(kRelu, "relu", "", none, kZ, undef, (z > 0.0f || z != z) ? z : 0.0f,                           \
    z > 0.0f ? 1.0f : (z != z ? z : 0.0f))                                                         \
  X(kSoftplus, "softplus", "", none, kZ, undef, z > 0.0f ? z + log1pf(expf(-z)) : log1pf(expf(z)), \
    1.0f / (1.0f + expf(-z)))                                                                      \
  X(kGelu, "gelu", "", none, kZ, undef, 0.5f * z * (1.0f + erff(z * 0.70710678f)),                 \
    0.5f * (1.0f + erff(z * 0.70710678f)) + z * 0.39894228f * expf(-0.5f * z * z))                 \
  X(kSilu, "silu", "swish", none, kZ, undef, Activate<Activation::kSigmoid>(z, alpha) * z,         \
    Activate<Activation::kSigmoid>(z, alpha) *                                                     \
        (1.0f + z * (1.0f - Activate<Activation::kSigmoid>(z, alpha))))                            \
  X(kElu, "elu", "", alpha(1.0f), kZ, undef, z > 0.0f ? z : alpha * expm1f(z),                     \
    z > 0.0f ? 1.0f : alpha * expf(z))                                                             \
  X(kHardSigmoid, "hard_sigmoid", "", none, kZ, undef,                                             \
    z != z ? z : fminf(fmaxf(z + 3.0f, 0.0f), 6.0f) / 6.0f,                                        \
    z > -3.0f && z < 3.0f ? 1.0f / 6.0f : (z != z ? z : 0.0f))                                     \
  X(kLeakyRelu, "leaky_relu", "", alpha(0.3f), kZ, undef, z > 0.0f ? z : alpha * z,                \
    z > 0.0f ? 1.0f : (z != z ? z : alpha))                                                        \
  X(kSelu, "selu", "", none, kZ, undef, 1.05070098f * (z > 0.0f ? z : 1.67326324f * expm1f(z)),    \
    1.05070098f * (z > 0.0f ? 1.0f : 1.67326324f * expf(z)))                                       \
  X(kGeluTanh, "gelu_tanh", "", none, kZ, undef,                                                   \
    0.5f * z * (1.0f + tanhf(0.7978845608f * (z + 0.044715f * z * z * z))),                        \
    0.5f * (1.0f + tanhf(0.7978845608f * (z + 0.044715f * z * z * z))) +                           \
        0.5f * z *                                                                                 \
            (1.0f - tanhf(0.7978845608f * (z + 0.044715f * z * z * z)) *                           \
                        tanhf(0.7978845608f * (z + 0.044715f * z * z * z))) *                      \
            0.7978845608f * (1.0f + 0.134145f * z * z))                                            \
  X(kExponential, "exponential", "", none, kOutput, undef, expf(z), a)                             \
  // (end of the table)
// clang-format on

// The param column: whether an activation takes alpha, and its default (0 when it takes none,
// so that a spec of it compares equal to its kind).
#define FANIN_ACTIVATION_TAKES_ALPHA_none false
#define FANIN_ACTIVATION_TAKES_ALPHA_alpha(default_alpha) true
#define FANIN_ACTIVATION_DEFAULT_ALPHA_none 0.0f
#define FANIN_ACTIVATION_DEFAULT_ALPHA_alpha(default_alpha) default_alpha

namespace fanin {

#define FANIN_ACTIVATION_TAG(tag, ...) tag,
enum class Activation { FANIN_ACTIVATIONS(FANIN_ACTIVATION_TAG) };
// Every activation, in table order (the tests run each).
inline constexpr Activation kActivations[] = {
#define FANIN_ACTIVATION_VALUE(tag, ...) Activation::tag,
    FANIN_ACTIVATIONS(FANIN_ACTIVATION_VALUE)};
#undef FANIN_ACTIVATION_VALUE
#undef FANIN_ACTIVATION_TAG

constexpr bool TakesAlpha(Activation kind) {
  switch (kind) {
#define FANIN_X(tag, name, alias, param, ...) \
  case Activation::tag:                       \
    return FANIN_ACTIVATION_TAKES_ALPHA_##param;
    FANIN_ACTIVATIONS(FANIN_X)
#undef FANIN_X
  }
  return false;
}

constexpr float DefaultAlpha(Activation kind) {
  switch (kind) {
#define FANIN_X(tag, name, alias, param, ...) \
  case Activation::tag:                       \
    return FANIN_ACTIVATION_DEFAULT_ALPHA_##param;
    FANIN_ACTIVATIONS(FANIN_X)
#undef FANIN_X
  }
  return 0.0f;
}

// An activation with its parameter: what the ops, the layers and checkpoints take. Implicit from
// an Activation with the table's default alpha, so that Activation::kTanh is a spec wherever one
// is asked for. alpha is a runtime value, not a template argument: each kind keeps one
// instantiation of the CPU loops and CUDA kernels.
struct ActivationSpec {
  constexpr ActivationSpec(Activation k = Activation::kLinear) : kind(k), alpha(DefaultAlpha(k)) {}
  constexpr ActivationSpec(Activation k, float a) : kind(k), alpha(a) {}
  bool operator==(const ActivationSpec&) const = default;

  Activation kind;
  float alpha;  // DefaultAlpha(kind) for an activation that takes none
};

// Keras's names and their aliases, "" for linear, and "name(alpha)" for an activation with a
// parameter ("leaky_relu(0.1)"; "leaky_relu" gives the default). Throws std::invalid_argument,
// naming the input, on an unknown name (listing the valid ones), on a parameter for an
// activation that takes none, and on an alpha that is not a finite number.
ActivationSpec ParseActivation(std::string_view name);
// The table's name, with "(alpha)" when alpha is not the default, printed so that
// ParseActivation reads back the same float.
std::string ActivationName(const ActivationSpec& spec);
// Throws std::invalid_argument, naming `where`, unless ParseActivation could have given `spec`:
// a non-finite alpha, or an alpha other than 0 for an activation that takes none.
void CheckActivation(const ActivationSpec& spec, std::string_view where);

}  // namespace fanin
