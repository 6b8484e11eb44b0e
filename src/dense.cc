#include <stdexcept>
#include <string>

#include "fanin/layers.h"
#include "fanin/ops.h"
#include "src/layer_factories.h"
#include "src/layer_util.h"

namespace fanin {

Dense::Dense(int64_t units, ActivationSpec activation, Initializer kernel_initializer,
             Initializer bias_initializer)
    : units_(units),
      activation_(activation),
      kernel_initializer_(kernel_initializer),
      bias_initializer_(bias_initializer) {
  if (units < 1)
    throw std::invalid_argument("Dense: units must be >= 1, got " + std::to_string(units));
  CheckActivation(activation, "Dense");
}

Dense::Dense(int64_t units, std::string_view activation, std::string_view kernel_initializer,
             std::string_view bias_initializer)
    : Dense(units, ParseActivation(activation), Initializer::FromName(kernel_initializer),
            Initializer::FromName(bias_initializer)) {}

std::string Dense::Describe() const {
  return "Dense(" + std::to_string(units_) + ", " + ActivationName(activation_) +
         ", kernel=" + kernel_initializer_.name() + ")";
}

Config Dense::config() const {
  Config c("dense");
  c.Set("units", static_cast<double>(units_));
  SetActivation(c, activation_);
  c.Set("kernel_initializer", kernel_initializer_.name());
  c.Set("bias_initializer", bias_initializer_.name());
  return c;
}

namespace internal {
std::unique_ptr<Layer> MakeDense(const Config& c) {
  c.CheckKeys({"units", "activation", "alpha", "kernel_initializer", "bias_initializer"});
  return std::make_unique<Dense>(
      c.GetInteger("units", 0), ActivationOf(c),
      Initializer::FromName(c.GetString("kernel_initializer", "glorot_uniform")),
      Initializer::FromName(c.GetString("bias_initializer", "zeros")));
}
}  // namespace internal

int64_t Dense::Build(std::shared_ptr<Backend> backend, int64_t input_features) {
  if (input_features < 1) {
    throw std::invalid_argument(Describe() + ": input width must be >= 1, got " +
                                std::to_string(input_features));
  }
  // The kernel and the bias together, (input_features + 1) * units values, must fit in a
  // tensor: the model sums every layer's count into one flat buffer, where a wrapped count
  // would allocate too little and let the GEMMs run past it.
  if (input_features >= kMaxTensorSize / units_) {
    throw std::length_error(Describe() + ": " + std::to_string(input_features) +
                            " input features give more than " + std::to_string(kMaxTensorSize) +
                            " parameters, the most a tensor can hold");
  }
  backend_ = std::move(backend);
  input_features_ = input_features;
  return units_;
}

std::vector<ParameterSpec> Dense::Parameters() const {
  return {{"kernel", {input_features_, units_}, kernel_initializer_, true},
          {"bias", {units_}, bias_initializer_, false}};
}

void Dense::BindParameters(std::span<const Tensor> values, std::span<const Tensor> grads) {
  kernel_ = values[0];
  bias_ = values[1];
  kernel_grad_ = grads[0];
  bias_grad_ = grads[1];
}

// Forward: z = x W + b, a = act(z), in one backend call (the bias fused into the GEMM).
const Tensor& Dense::Forward(const Tensor& x) {
  CheckLayerInput(Describe(), x, input_features_);
  input_ = x;
  z_ = BatchView(z_storage_, backend_, x.rows(), units_);
  a_ = activation_.kind == Activation::kLinear ? z_
                                               : BatchView(a_storage_, backend_, x.rows(), units_);
  ops::DenseForward(x, kernel_, bias_, activation_, z_, a_, stats_ ? &*stats_ : nullptr);
  return a_;
}

bool Dense::CollectForwardStats(const ForwardStats* stats) {
  stats_ = WithSaturationBand(stats, activation_);
  return true;
}

// Backward: dz = dy * act'(z) (in place in dy), db = sum over rows of dz (same pass),
// dW = x^T dz, dx = dz W^T.
Tensor* Dense::Backward(Tensor& dy, bool need_input_grad) {
  ops::ActivationBackward(activation_, z_, a_, dy, dy, &bias_grad_);
  ops::Gemm(input_, true, dy, false, 1.0f, 0.0f, kernel_grad_);
  if (!need_input_grad) return nullptr;
  dx_ = BatchView(dx_storage_, backend_, dy.rows(), input_features_);
  ops::Gemm(dy, false, kernel_, true, 1.0f, 0.0f, dx_);
  return &dx_;
}

LayerTensors Dense::tensors() const {
  LayerTensors t;
  t.Add("input", TensorRole::kInput, input_)
      .Add("z", TensorRole::kZ, z_)
      .Add("activation", TensorRole::kActivation, a_)
      .Add("kernel", TensorRole::kParameter, kernel_)
      .Add("bias", TensorRole::kParameter, bias_)
      .Add("kernel_grad", TensorRole::kGradient, kernel_grad_)
      .Add("bias_grad", TensorRole::kGradient, bias_grad_);
  return t;
}

}  // namespace fanin
