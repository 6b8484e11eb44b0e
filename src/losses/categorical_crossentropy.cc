#include <cmath>
#include <stdexcept>
#include <string>

#include "fanin/loss.h"
#include "src/losses/builtin.h"

namespace fanin {

CategoricalCrossEntropy::CategoricalCrossEntropy(float label_smoothing, bool sparse)
    : label_smoothing_(label_smoothing), sparse_(sparse) {
  if (!(label_smoothing >= 0.0f && label_smoothing <= 1.0f)) {
    throw std::invalid_argument(config().type() + ": label_smoothing " +
                                std::to_string(label_smoothing) + " is not in [0, 1]");
  }
}

Config CategoricalCrossEntropy::config() const {
  Config c(sparse_ ? "sparse_categorical_crossentropy" : "categorical_crossentropy");
  c.Set("from_logits", true);
  c.Set("label_smoothing", static_cast<double>(label_smoothing_));
  return c;
}

int64_t CategoricalCrossEntropy::LabelColumns(int64_t output_units) const {
  if (output_units < 2) {
    throw std::invalid_argument(config().type() + ": the model has " +
                                std::to_string(output_units) +
                                " output unit; a k-class cross-entropy needs k >= 2 logits (for "
                                "two classes and one unit use binary_crossentropy)");
  }
  return sparse_ ? 1 : output_units;
}

void CategoricalCrossEntropy::CheckLabels(std::string_view what, std::span<const float> labels,
                                          int64_t columns, int64_t output_units) const {
  const std::string name = config().type();
  if (sparse_) {
    for (size_t i = 0; i < labels.size(); ++i) {
      const float c = labels[i];
      if (!(c >= 0.0f && c < static_cast<float>(output_units) && std::floor(c) == c)) {
        internal::BadLabel(what, name, static_cast<int64_t>(i), columns, c,
                           "class indices 0.." + std::to_string(output_units - 1) +
                               " (one column; one-hot rows go with categorical_crossentropy)");
      }
    }
    return;
  }
  for (size_t row = 0; row * columns < labels.size(); ++row) {
    double sum = 0.0;
    for (int64_t j = 0; j < columns; ++j) {
      const size_t i = row * columns + j;
      if (!(labels[i] >= 0.0f && labels[i] <= 1.0f)) {
        internal::BadLabel(what, name, static_cast<int64_t>(i), columns, labels[i],
                           "labels in [0, 1], one-hot or soft rows summing to 1 (class indices "
                           "go with sparse_categorical_crossentropy)");
      }
      sum += labels[i];
    }
    // A row of soft labels rounded to floats may miss 1 by some ulps per column.
    if (std::fabs(sum - 1.0) > 1e-5 * static_cast<double>(columns)) {
      throw std::invalid_argument(std::string(what) + ": row " + std::to_string(row) +
                                  " of y sums to " + std::to_string(sum) + "; " + name +
                                  " needs each row of labels to sum to 1");
    }
  }
}

void CategoricalCrossEntropy::Compute(const Tensor& output, const Tensor& labels, float grad_scale,
                                      Tensor* grad, Tensor& totals, int64_t slot) const {
  ops::SoftmaxCrossEntropy(sparse_ ? ClassLabels::kIndex : ClassLabels::kDistribution,
                           label_smoothing_, output, labels, grad_scale, grad, totals, slot);
}

void CategoricalCrossEntropy::Link(Tensor& output) const { ops::Softmax(output); }

namespace internal {

std::unique_ptr<Loss> MakeCategoricalCrossEntropy(const Config& config) {
  config.CheckKeys({"from_logits", "label_smoothing"});
  if (!config.GetBool("from_logits", true)) {
    throw std::invalid_argument(config.type() +
                                ": only from_logits = true (the model's last layer outputs "
                                "logits; the softmax is fused into the loss)");
  }
  return std::make_unique<CategoricalCrossEntropy>(
      LabelSmoothing(config), config.type() == "sparse_categorical_crossentropy");
}

}  // namespace internal
}  // namespace fanin
