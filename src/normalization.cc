#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "fanin/layers.h"
#include "fanin/ops.h"
#include "src/layer_factories.h"
#include "src/layer_util.h"

namespace fanin {
namespace {

// The forward and backward passes are BatchNormForward's inference: gamma (x - m) /
// sqrt(v + epsilon) + beta with gamma 1, beta 0, and an epsilon far below the stored
// variance's floor of kMinStd^2, so that 1 / sqrt(v + epsilon) is 1 / max(std, kMinStd) to
// double rounding before the cast to float. The CPU and CUDA kernels are then those of
// ops/batch_norm, compared there.
constexpr BatchNormSpec kSpec{.epsilon = 1e-30f, .momentum = 0.0f};

}  // namespace

void Normalization::Adapt(const Tensor& x) {
  const std::string what = "Normalization::Adapt";
  if (x.rank() != 2 || x.rows() < 1 || x.cols() < 1) {
    throw std::invalid_argument(what + ": x must be [n x features] with n, features >= 1, got " +
                                ShapeToString(x.shape()));
  }
  if (features_ != 0 && x.cols() != features_) {
    throw std::invalid_argument(what + ": x " + ShapeToString(x.shape()) +
                                " for a layer built for " + std::to_string(features_) +
                                " features");
  }
  const std::vector<float> values = x.ToHost();
  const auto n = static_cast<size_t>(x.rows()), k = static_cast<size_t>(x.cols());
  std::vector<double> mean(k, 0.0), m2(k, 0.0);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < k; ++j) {
      const float v = values[i * k + j];
      if (!std::isfinite(v)) {
        throw std::invalid_argument(what + ": x[" + std::to_string(i) + ", " + std::to_string(j) +
                                    "] is " + std::to_string(v) + ", not finite");
      }
      mean[j] += v;
    }
  }
  for (double& m : mean) m /= static_cast<double>(n);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < k; ++j) {
      const double d = values[i * k + j] - mean[j];
      m2[j] += d * d;
    }
  }
  host_mean_.resize(k);
  host_variance_.resize(k);
  for (size_t j = 0; j < k; ++j) {
    host_mean_[j] = static_cast<float>(mean[j]);
    host_variance_[j] =
        static_cast<float>(std::max(m2[j] / static_cast<double>(n), kMinStd * kMinStd));
  }
  adapted_ = true;
  if (features_ != 0) Upload();
}

void Normalization::Upload() {
  Tensor::FromHost(HostBackend(), {features_}, host_mean_).CopyTo(mean_);
  Tensor::FromHost(HostBackend(), {features_}, host_variance_).CopyTo(variance_);
}

std::string Normalization::Describe() const {
  return features_ == 0 ? "Normalization()" : "Normalization(" + std::to_string(features_) + ")";
}

Config Normalization::config() const { return Config("normalization"); }

namespace internal {
std::unique_ptr<Layer> MakeNormalization(const Config& c) {
  c.CheckKeys({});
  return std::make_unique<Normalization>();
}
}  // namespace internal

int64_t Normalization::Build(std::shared_ptr<Backend> backend, int64_t input_features) {
  if (input_features < 1) {
    throw std::invalid_argument("Normalization: input width must be >= 1, got " +
                                std::to_string(input_features));
  }
  if (adapted_ && static_cast<int64_t>(host_mean_.size()) != input_features) {
    throw std::invalid_argument("Normalization: adapted to " + std::to_string(host_mean_.size()) +
                                " features, built for an input of " +
                                std::to_string(input_features));
  }
  backend_ = std::move(backend);
  features_ = input_features;
  for (Tensor* t : {&mean_, &variance_, &zeros_, &ones_, &unused_inv_std_}) {
    *t = Tensor(backend_, {features_});
  }
  ops::Fill(mean_, 0.0f);
  ops::Fill(variance_, 1.0f);
  ops::Fill(zeros_, 0.0f);
  ops::Fill(ones_, 1.0f);
  ops::Fill(unused_inv_std_, 1.0f);
  if (adapted_) Upload();
  return features_;
}

std::vector<std::pair<std::string, Tensor>> Normalization::state() const {
  return {{"mean", mean_}, {"variance", variance_}};
}

const Tensor& Normalization::Forward(const Tensor& x) {
  CheckLayerInput(Describe(), x, features_);
  if (!adapted_) {
    throw std::logic_error(Describe() +
                           ": not adapted; call Adapt(x) with the training data (or load a "
                           "checkpoint) before the first Forward, Fit, Evaluate or Predict");
  }
  input_ = x;
  scratch_ = BatchView(scratch_storage_, backend_, x.rows(), features_);
  y_ = BatchView(y_storage_, backend_, x.rows(), features_);
  ops::BatchNormForward(kSpec, /*training=*/false, x, ones_, zeros_, mean_, variance_, scratch_, y_,
                        unused_inv_std_);
  return y_;
}

// dx = dy / std: the same pass with a mean of zero.
Tensor* Normalization::Backward(Tensor& dy, bool need_input_grad) {
  if (!need_input_grad) return nullptr;
  scratch_ = BatchView(scratch_storage_, backend_, dy.rows(), features_);
  dx_ = BatchView(dx_storage_, backend_, dy.rows(), features_);
  ops::BatchNormForward(kSpec, /*training=*/false, dy, ones_, zeros_, zeros_, variance_, scratch_,
                        dx_, unused_inv_std_);
  return &dx_;
}

LayerTensors Normalization::tensors() const {
  LayerTensors t;
  t.Add("input", TensorRole::kInput, input_)
      .Add("activation", TensorRole::kActivation, y_)
      .Add("mean", TensorRole::kState, mean_)
      .Add("variance", TensorRole::kState, variance_);
  return t;
}

}  // namespace fanin
