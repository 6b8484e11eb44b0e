// What every layer implementation shares: input checks, and scratch buffers allocated for
// the largest batch seen and then reused, so that a training step allocates nothing.
#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "fanin/activation.h"
#include "fanin/backend.h"
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
