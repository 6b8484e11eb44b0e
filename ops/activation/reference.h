// The activations' independent double-precision reference: each function written from its
// textbook formula, not from the table in fanin/activation.h that it checks (adding an
// activation adds its line there and here), with the spec's alpha where it has one.
#pragma once

#include <algorithm>
#include <cmath>
#include <numbers>

#include "fanin/activation.h"

namespace fanin::testing {

inline double RefSigmoid(double z) {
  return z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z));
}

inline double RefActivation(const ActivationSpec& spec, double z) {
  switch (spec.kind) {
    case Activation::kLinear:
      return z;
    case Activation::kSigmoid:
      return RefSigmoid(z);
    case Activation::kTanh:
      return std::tanh(z);
    case Activation::kRelu:
      return z > 0 || std::isnan(z) ? z : 0.0;
    case Activation::kSoftplus:
      return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
    case Activation::kGelu:  // z Phi(z), the exact form (Keras's default)
      return 0.5 * z * (1.0 + std::erf(z / std::sqrt(2.0)));
    case Activation::kSilu:
      return z * RefSigmoid(z);
    case Activation::kElu:  // Keras's alpha, 1 by default
      return z > 0 ? z : spec.alpha * (std::exp(z) - 1.0);
    case Activation::kHardSigmoid:  // Keras 3's: relu6(z + 3) / 6
      return std::isnan(z) ? z : std::clamp(z / 6.0 + 0.5, 0.0, 1.0);
    case Activation::kLeakyRelu:  // the default 0.3 is Keras's LeakyReLU layer's
      return z > 0 ? z : spec.alpha * z;
    case Activation::kSelu:  // scale elu(z, alpha) with Keras's rounding of the constants
      return 1.05070098 * (z > 0 ? z : 1.67326324 * (std::exp(z) - 1.0));
    case Activation::kGeluTanh:  // Keras's gelu(approximate=True)
      return 0.5 * z *
             (1.0 + std::tanh(std::sqrt(2.0 / std::numbers::pi) * (z + 0.044715 * z * z * z)));
    case Activation::kExponential:
      return std::exp(z);
  }
  return 0.0;
}

// d act / d z, written from the textbook formulas (not from a = act(z) tricks).
inline double RefActivationDerivative(const ActivationSpec& spec, double z) {
  switch (spec.kind) {
    case Activation::kLinear:
      return 1.0;
    case Activation::kSigmoid: {
      const double s = RefSigmoid(z);
      return s * (1.0 - s);
    }
    case Activation::kTanh: {
      const double c = std::cosh(z);
      return 1.0 / (c * c);
    }
    case Activation::kRelu:
      return z > 0 ? 1.0 : (std::isnan(z) ? z : 0.0);
    case Activation::kSoftplus:
      return RefSigmoid(z);
    case Activation::kGelu:  // Phi(z) + z phi(z)
      return 0.5 * (1.0 + std::erf(z / std::sqrt(2.0))) +
             z * std::exp(-0.5 * z * z) / std::sqrt(2.0 * std::numbers::pi);
    case Activation::kSilu: {
      const double s = RefSigmoid(z);
      return s + z * s * (1.0 - s);
    }
    case Activation::kElu:
      return z > 0 ? 1.0 : spec.alpha * std::exp(z);
    case Activation::kHardSigmoid:
      return -3 < z && z < 3 ? 1.0 / 6.0 : (std::isnan(z) ? z : 0.0);
    case Activation::kLeakyRelu:
      return z > 0 ? 1.0 : (std::isnan(z) ? z : spec.alpha);
    case Activation::kSelu:
      return 1.05070098 * (z > 0 ? 1.0 : 1.67326324 * std::exp(z));
    case Activation::kGeluTanh: {
      const double k = std::sqrt(2.0 / std::numbers::pi);
      const double t = std::tanh(k * (z + 0.044715 * z * z * z));
      return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * k * (1.0 + 3.0 * 0.044715 * z * z);
    }
    case Activation::kExponential:
      return std::exp(z);
  }
  return 0.0;
}

}  // namespace fanin::testing
