// What every layer implementation shares: input checks, and scratch buffers allocated for
// the largest batch seen and then reused, so that a training step allocates nothing.
#pragma once

#include <cmath>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "fanin/activation.h"
#include "fanin/backend.h"
#include "fanin/config.h"
#include "fanin/ops.h"
#include "fanin/tensor.h"

namespace fanin {

// A [rows x cols] view of `storage`, reallocating it only when it is too small.
inline Tensor BatchView(Tensor& storage, const std::shared_ptr<Backend>& backend, int64_t rows,
                        int64_t cols) {
  if (!storage.defined() || storage.rows() < rows || storage.cols() != cols) {
    storage = Tensor(backend, {rows, cols});
  }
  return storage.Rows(0, rows);
}

// A layer config's "activation" (its table name) and, for one with a parameter, "alpha":
// its value even when it is the default, so that a saved config keeps its function if a
// default ever changes.
inline void SetActivation(Config& config, ActivationSpec act) {
  config.Set("activation", ActivationName(act.kind));
  if (TakesAlpha(act.kind)) config.Set("alpha", static_cast<double>(act.alpha));
}
// The activation a config names ("linear" when it names none); "alpha" only for an activation
// that takes one, and not beside a name that gives it ("elu(0.5)").
inline ActivationSpec ActivationOf(const Config& config) {
  const std::string name = config.GetString("activation", "linear");
  ActivationSpec act = ParseActivation(name);
  bool has_alpha = false;
  for (const auto& [key, value] : config.entries()) has_alpha |= key == "alpha";
  if (has_alpha) {
    if (!TakesAlpha(act.kind)) {
      throw std::invalid_argument(config.type() + ": " + name + " takes no \"alpha\"");
    }
    if (name.find('(') != std::string::npos) {
      throw std::invalid_argument(config.type() + ": \"activation\" is \"" + name +
                                  "\" and \"alpha\" is given too");
    }
    const double alpha = config.GetNumber("alpha", 0.0);
    if (!(std::fabs(alpha) <= 3.4e38)) {
      throw std::invalid_argument(config.type() + ": \"alpha\" is " + std::to_string(alpha) +
                                  ", not a finite float");
    }
    act.alpha = static_cast<float>(alpha);
  }
  return act;
}

// Throws std::invalid_argument naming the layer and both shapes unless x is [n x features].
inline void CheckLayerInput(const std::string& layer, const Tensor& x, int64_t features) {
  if (x.rank() != 2 || x.dim(1) != features) {
    throw std::invalid_argument(layer + ": input of shape " + ShapeToString(x.shape()) +
                                " does not match the expected [n x " + std::to_string(features) +
                                "]");
  }
}

// `stats` with the activation's saturation band set as StatsHook documents it: tanh
// |a| > 0.99, sigmoid a < 0.01 or a > 0.99; none for the other activations.
inline std::optional<ForwardStats> WithSaturationBand(const ForwardStats* stats,
                                                      ActivationSpec act) {
  if (stats == nullptr) return std::nullopt;
  ForwardStats s = *stats;
  if (act.kind == Activation::kTanh) s.a.saturation = {-0.99f, 0.99f};
  if (act.kind == Activation::kSigmoid) s.a.saturation = {0.01f, 0.99f};
  return s;
}

}  // namespace fanin
