#include <cmath>
#include <stdexcept>
#include <string>

#include "fanin/loss.h"
#include "src/losses/builtin.h"

namespace fanin {

RegressionError::RegressionError(ErrorKind kind) : kind_(kind) {}

Config RegressionError::config() const {
  return Config(kind_ == ErrorKind::kSquared ? "mean_squared_error" : "mean_absolute_error");
}

std::string RegressionError::metric_name() const {
  return kind_ == ErrorKind::kSquared ? "mean_absolute_error" : "mean_squared_error";
}

void RegressionError::CheckLabels(std::string_view what, std::span<const float> labels,
                                  int64_t columns, int64_t) const {
  for (size_t i = 0; i < labels.size(); ++i) {
    if (!std::isfinite(labels[i])) {
      internal::BadLabel(what, config().type(), static_cast<int64_t>(i), columns, labels[i],
                         "finite targets");
    }
  }
}

void RegressionError::Compute(const Tensor& output, const Tensor& labels, float grad_scale,
                              Tensor* grad, Tensor& totals, int64_t slot) const {
  ops::RegressionLoss(kind_, output, labels, grad_scale, grad, totals, slot);
}

namespace internal {

std::unique_ptr<Loss> MakeRegressionError(const Config& config) {
  config.CheckKeys({});
  return std::make_unique<RegressionError>(
      config.type() == "mean_squared_error" ? ErrorKind::kSquared : ErrorKind::kAbsolute);
}

}  // namespace internal
}  // namespace fanin
