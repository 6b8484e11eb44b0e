#include "fanin/layers.h"
#include "fanin/ops.h"
#include "src/layer_factories.h"
#include "src/layer_util.h"

namespace fanin {

ActivationLayer::ActivationLayer(ActivationSpec activation) : activation_(activation) {
  CheckActivation(activation, "ActivationLayer");
}
ActivationLayer::ActivationLayer(std::string_view activation)
    : activation_(ParseActivation(activation)) {}

std::string ActivationLayer::Describe() const {
  return "Activation(" + ActivationName(activation_) + ")";
}

Config ActivationLayer::config() const {
  Config c("activation");
  SetActivation(c, activation_);
  return c;
}

namespace internal {
std::unique_ptr<Layer> MakeActivationLayer(const Config& c) {
  c.CheckKeys({"activation", "alpha"});
  return std::make_unique<ActivationLayer>(ActivationOf(c));
}
}  // namespace internal

int64_t ActivationLayer::Build(std::shared_ptr<Backend> backend, int64_t input_features) {
  backend_ = std::move(backend);
  features_ = input_features;
  return features_;
}

// Forward: a = act(x), where x plays the role of z.
const Tensor& ActivationLayer::Forward(const Tensor& x) {
  CheckLayerInput(Describe(), x, features_);
  input_ = x;
  a_ = BatchView(a_storage_, backend_, x.rows(), features_);
  ops::ActivationForward(activation_, x, a_, stats_ ? &*stats_ : nullptr);
  return a_;
}

bool ActivationLayer::CollectForwardStats(const ForwardStats* stats) {
  stats_ = WithSaturationBand(stats, activation_);
  return true;
}

// Backward: dx = dy * act'(x), in place in dy.
Tensor* ActivationLayer::Backward(Tensor& dy, bool need_input_grad) {
  if (!need_input_grad) return nullptr;
  ops::ActivationBackward(activation_, input_, a_, dy, dy, nullptr);
  return &dy;
}

LayerTensors ActivationLayer::tensors() const {
  // z is the input: what the activation reads.
  LayerTensors t;
  t.Add("input", TensorRole::kInput, input_)
      .Add("z", TensorRole::kZ, input_)
      .Add("activation", TensorRole::kActivation, a_);
  return t;
}

}  // namespace fanin
