#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

#include "fanin/layers.h"
#include "fanin/ops.h"
#include "src/layer_factories.h"
#include "src/layer_util.h"

namespace fanin {

BatchNormalization::BatchNormalization(BatchNormSpec spec) : spec_(spec) {
  if (!(spec.epsilon > 0.0f && std::isfinite(spec.epsilon)) ||
      !(spec.momentum >= 0.0f && spec.momentum <= 1.0f)) {
    throw std::invalid_argument(
        "BatchNormalization: epsilon must be finite and > 0 and momentum "
        "in [0, 1], got epsilon " +
        std::to_string(spec.epsilon) + " and momentum " + std::to_string(spec.momentum));
  }
}

std::string BatchNormalization::Describe() const {
  std::ostringstream text;
  text << "BatchNormalization(momentum=" << spec_.momentum << ", epsilon=" << spec_.epsilon << ")";
  return text.str();
}

Config BatchNormalization::config() const {
  Config c("batch_normalization");
  c.Set("momentum", static_cast<double>(spec_.momentum));
  c.Set("epsilon", static_cast<double>(spec_.epsilon));
  return c;
}

namespace internal {
std::unique_ptr<Layer> MakeBatchNormalization(const Config& c) {
  c.CheckKeys({"momentum", "epsilon"});
  return std::make_unique<BatchNormalization>(
      BatchNormSpec{.epsilon = static_cast<float>(c.GetNumber("epsilon", 1e-3)),
                    .momentum = static_cast<float>(c.GetNumber("momentum", 0.99))});
}
}  // namespace internal

int64_t BatchNormalization::Build(std::shared_ptr<Backend> backend, int64_t input_features) {
  if (input_features < 1) {
    throw std::invalid_argument(Describe() + ": input width must be >= 1, got " +
                                std::to_string(input_features));
  }
  backend_ = std::move(backend);
  features_ = input_features;
  moving_mean_ = Tensor(backend_, {features_});
  moving_var_ = Tensor(backend_, {features_});
  inv_std_ = Tensor(backend_, {features_});
  ops::Fill(moving_mean_, 0.0f);
  ops::Fill(moving_var_, 1.0f);
  ops::Fill(inv_std_, 1.0f);
  return features_;
}

std::vector<ParameterSpec> BatchNormalization::Parameters() const {
  return {{"gamma", {features_}, Initializer::Constant(1.0), false},
          {"beta", {features_}, Initializer::Zeros(), false}};
}

void BatchNormalization::BindParameters(std::span<const Tensor> values,
                                        std::span<const Tensor> grads) {
  gamma_ = values[0];
  beta_ = values[1];
  gamma_grad_ = grads[0];
  beta_grad_ = grads[1];
}

std::vector<std::pair<std::string, Tensor>> BatchNormalization::state() const {
  return {{"moving_mean", moving_mean_}, {"moving_variance", moving_var_}};
}

const Tensor& BatchNormalization::Forward(const Tensor& x) {
  CheckLayerInput(Describe(), x, features_);
  input_ = x;
  xhat_ = BatchView(xhat_storage_, backend_, x.rows(), features_);
  y_ = BatchView(y_storage_, backend_, x.rows(), features_);
  ops::BatchNormForward(spec_, training_, x, gamma_, beta_, moving_mean_, moving_var_, xhat_, y_,
                        inv_std_);
  return y_;
}

Tensor* BatchNormalization::Backward(Tensor& dy, bool need_input_grad) {
  Tensor* dx = nullptr;
  if (need_input_grad) {
    dx_ = BatchView(dx_storage_, backend_, dy.rows(), features_);
    dx = &dx_;
  }
  ops::BatchNormBackward(dy, xhat_, gamma_, inv_std_, gamma_grad_, beta_grad_, dx);
  return dx;
}

LayerTensors BatchNormalization::tensors() const {
  LayerTensors t;
  t.Add("input", TensorRole::kInput, input_)
      .Add("z", TensorRole::kZ, xhat_)
      .Add("activation", TensorRole::kActivation, y_)
      .Add("gamma", TensorRole::kParameter, gamma_)
      .Add("beta", TensorRole::kParameter, beta_)
      .Add("gamma_grad", TensorRole::kGradient, gamma_grad_)
      .Add("beta_grad", TensorRole::kGradient, beta_grad_)
      .Add("moving_mean", TensorRole::kState, moving_mean_)
      .Add("moving_variance", TensorRole::kState, moving_var_);
  return t;
}

}  // namespace fanin
