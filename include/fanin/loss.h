// The losses: what a model minimizes, the metric reported beside it, the labels it accepts,
// and the link Predict applies. Each computes the loss, its metric and dLoss/doutput in one
// pass of its op (ops/bce, ops/softmax_ce, ops/regression_loss). An open set: a loss
// registered under a type name (RegisterLoss) is built from its Config by MakeLoss, which is
// how checkpoints restore it.
//
//   model.Compile(fanin::SparseCategoricalCrossEntropy(), fanin::Adam{});  // Dense(k) logits
//   model.Compile(fanin::MeanSquaredError(), fanin::Sgd{});               // Dense(k) linear
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fanin/config.h"
#include "fanin/ops.h"
#include "fanin/tensor.h"

namespace fanin {

class Loss {
 public:
  virtual ~Loss() = default;
  // The type name and every parameter; MakeLoss(config()) builds an equal loss.
  virtual Config config() const = 0;
  // What the second total sums, per sample: "accuracy" (1 when correct), "mean_absolute_error",
  // "mean_squared_error". EpochLogs::metric and Evaluation::metric are its mean.
  virtual std::string metric_name() const = 0;
  // The label columns for a model of `output_units` outputs. Throws std::invalid_argument
  // naming the loss when it cannot take that many outputs (binary cross-entropy with 3).
  virtual int64_t LabelColumns(int64_t output_units) const = 0;
  // Throws std::invalid_argument, prefixed by `what` ("Fit"), naming the first label the loss
  // cannot take (its row and value) and what it accepts. labels: row-major, `columns` wide.
  virtual void CheckLabels(std::string_view what, std::span<const float> labels, int64_t columns,
                           int64_t output_units) const = 0;
  // totals[2*slot] to the loss summed over output's rows, and
  // totals[2*slot+1] to the metric's sum; grad, when given, to dLoss_i/doutput * grad_scale.
  virtual void Compute(const Tensor& output, const Tensor& labels, float grad_scale, Tensor* grad,
                       Tensor& totals, int64_t slot) const = 0;
  // Predict's output from the model's, in place: sigmoid or softmax of logits, or nothing.
  virtual void Link(Tensor& output) const = 0;
};

// Keras's BinaryCrossentropy, for one output unit. from_logits (the default, and the stable
// path): the last layer outputs logits z; the loss is max(z,0) - z y + log1p(exp(-|z|)), finite
// for any float z. Otherwise it outputs probabilities (Dense(1, "sigmoid")), clipped to [1e-7,
// 1 - 1e-7] as Keras does; less stable, since a saturated sigmoid loses the gradient. Labels
// in [0, 1] (0 or 1, or soft). Predict gives probabilities; metric: accuracy.
struct BinaryCrossEntropyOptions {
  bool from_logits = true;
  float label_smoothing = 0.0f;  // in [0, 1]: labels become y (1 - s) + s / 2
};
class BinaryCrossEntropy final : public Loss {
 public:
  explicit BinaryCrossEntropy(BinaryCrossEntropyOptions options = {});
  const BinaryCrossEntropyOptions& options() const { return options_; }
  Config config() const override;
  std::string metric_name() const override { return "accuracy"; }
  int64_t LabelColumns(int64_t output_units) const override;
  void CheckLabels(std::string_view what, std::span<const float> labels, int64_t columns,
                   int64_t output_units) const override;
  void Compute(const Tensor& output, const Tensor& labels, float grad_scale, Tensor* grad,
               Tensor& totals, int64_t slot) const override;
  void Link(Tensor& output) const override;

 private:
  BinaryCrossEntropyOptions options_;
};

// Keras's CategoricalCrossentropy(from_logits=True) and SparseCategoricalCrossentropy(
// from_logits=True): softmax fused with the cross-entropy (log-sum-exp, finite for any finite
// logits), k >= 2 output units giving logits. Categorical labels are [n x k] rows (one-hot or
// soft, each summing to 1); sparse labels [n x 1] class indices 0..k-1. label_smoothing in
// [0, 1]: labels become y (1 - s) + s / k (Keras offers it for the categorical one only; here
// both). Predict gives class probabilities; metric: accuracy (argmax).
class CategoricalCrossEntropy final : public Loss {
 public:
  explicit CategoricalCrossEntropy(float label_smoothing = 0.0f, bool sparse = false);
  float label_smoothing() const { return label_smoothing_; }
  bool sparse() const { return sparse_; }
  Config config() const override;
  std::string metric_name() const override { return "accuracy"; }
  int64_t LabelColumns(int64_t output_units) const override;
  void CheckLabels(std::string_view what, std::span<const float> labels, int64_t columns,
                   int64_t output_units) const override;
  void Compute(const Tensor& output, const Tensor& labels, float grad_scale, Tensor* grad,
               Tensor& totals, int64_t slot) const override;
  void Link(Tensor& output) const override;

 private:
  float label_smoothing_;
  bool sparse_;
};
inline CategoricalCrossEntropy SparseCategoricalCrossEntropy(float label_smoothing = 0.0f) {
  return CategoricalCrossEntropy(label_smoothing, /*sparse=*/true);
}

// Keras's MeanSquaredError and MeanAbsoluteError: the mean over the k outputs of each sample,
// targets [n x k] any finite values. Predict gives the output as it is; the metric is the
// other error (MAE for MSE, MSE for MAE).
class RegressionError final : public Loss {
 public:
  explicit RegressionError(ErrorKind kind);
  ErrorKind kind() const { return kind_; }
  Config config() const override;
  std::string metric_name() const override;
  int64_t LabelColumns(int64_t output_units) const override { return output_units; }
  void CheckLabels(std::string_view what, std::span<const float> labels, int64_t columns,
                   int64_t output_units) const override;
  void Compute(const Tensor& output, const Tensor& labels, float grad_scale, Tensor* grad,
               Tensor& totals, int64_t slot) const override;
  void Link(Tensor&) const override {}

 private:
  ErrorKind kind_;
};
inline RegressionError MeanSquaredError() { return RegressionError(ErrorKind::kSquared); }
inline RegressionError MeanAbsoluteError() { return RegressionError(ErrorKind::kAbsolute); }

// The registry: "binary_crossentropy", "categorical_crossentropy",
// "sparse_categorical_crossentropy", "mean_squared_error", "mean_absolute_error", and what
// RegisterLoss adds. A factory checks its config's keys (Config::CheckKeys) and values.
using LossFactory = std::function<std::unique_ptr<Loss>(const Config&)>;
// Throws std::invalid_argument when `type` is already registered.
void RegisterLoss(const std::string& type, LossFactory factory);
// Throws std::invalid_argument for an unknown type (naming the closest and all registered
// ones) or a bad parameter (naming it).
std::unique_ptr<Loss> MakeLoss(const Config& config);
std::vector<std::string> LossTypes();

}  // namespace fanin
