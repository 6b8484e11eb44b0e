#include <cmath>
#include <stdexcept>
#include <string>

#include "fanin/loss.h"
#include "src/losses/builtin.h"

namespace fanin {

BinaryCrossEntropy::BinaryCrossEntropy(BinaryCrossEntropyOptions options) : options_(options) {
  if (!(options.label_smoothing >= 0.0f && options.label_smoothing <= 1.0f)) {
    throw std::invalid_argument("binary_crossentropy: label_smoothing " +
                                std::to_string(options.label_smoothing) + " is not in [0, 1]");
  }
}

Config BinaryCrossEntropy::config() const {
  Config c("binary_crossentropy");
  c.Set("from_logits", options_.from_logits);
  c.Set("label_smoothing", static_cast<double>(options_.label_smoothing));
  return c;
}

int64_t BinaryCrossEntropy::LabelColumns(int64_t output_units) const {
  if (output_units != 1) {
    throw std::invalid_argument(
        "binary_crossentropy: the model has " + std::to_string(output_units) +
        " output units; binary cross-entropy needs 1 (a logit or a probability). For k classes "
        "use categorical_crossentropy or sparse_categorical_crossentropy with Dense(k)");
  }
  return 1;
}

void BinaryCrossEntropy::CheckLabels(std::string_view what, std::span<const float> labels,
                                     int64_t columns, int64_t) const {
  for (size_t i = 0; i < labels.size(); ++i) {
    // Soft labels are fine; values outside [0, 1] make the loss unbounded below.
    if (!(labels[i] >= 0.0f && labels[i] <= 1.0f)) {
      internal::BadLabel(what, "binary cross-entropy", static_cast<int64_t>(i), columns, labels[i],
                         "labels in [0, 1] (0 or 1, or soft labels between)");
    }
  }
}

void BinaryCrossEntropy::Compute(const Tensor& output, const Tensor& labels, float grad_scale,
                                 Tensor* grad, Tensor& totals, int64_t slot) const {
  ops::BinaryCrossEntropy(options_.from_logits ? BceInput::kLogits : BceInput::kProbabilities,
                          options_.label_smoothing, output, labels, grad_scale, grad, totals, slot);
}

void BinaryCrossEntropy::Link(Tensor& output) const {
  if (options_.from_logits) ops::ActivationForward(Activation::kSigmoid, output, output);
}

namespace internal {

std::unique_ptr<Loss> MakeBinaryCrossEntropy(const Config& config) {
  config.CheckKeys({"from_logits", "label_smoothing"});
  return std::make_unique<BinaryCrossEntropy>(
      BinaryCrossEntropyOptions{.from_logits = config.GetBool("from_logits", true),
                                .label_smoothing = LabelSmoothing(config)});
}

}  // namespace internal
}  // namespace fanin
