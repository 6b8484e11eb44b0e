#include <stdexcept>
#include <string>

#include "fanin/layers.h"
#include "fanin/ops.h"
#include "src/layer_factories.h"
#include "src/layer_util.h"

namespace fanin {

Dropout::Dropout(float rate) : rate_(rate) {
  if (!(rate >= 0.0f && rate < 1.0f)) {
    throw std::invalid_argument("Dropout: rate must be in [0, 1), got " + std::to_string(rate));
  }
}

std::string Dropout::Describe() const {
  std::string rate = std::to_string(rate_);
  rate.erase(rate.find_last_not_of('0') + 1);
  if (rate.back() == '.') rate.pop_back();
  return "Dropout(" + rate + ")";
}

Config Dropout::config() const { return Config("dropout").Set("rate", static_cast<double>(rate_)); }

namespace internal {
std::unique_ptr<Layer> MakeDropout(const Config& c) {
  c.CheckKeys({"rate"});
  return std::make_unique<Dropout>(static_cast<float>(c.GetNumber("rate", 0.0)));
}
}  // namespace internal

int64_t Dropout::Build(std::shared_ptr<Backend> backend, int64_t input_features) {
  backend_ = std::move(backend);
  features_ = input_features;
  return features_;
}

DropoutMask Dropout::Mask() const {
  return {.rate = rate_,
          .seed = pass_.seed,
          .stream = kDropoutStream + static_cast<uint32_t>(pass_.layer),
          .step = static_cast<uint64_t>(pass_.step)};
}

// Inference passes the input through (the layer's output is the previous one's); training
// writes the dropped and scaled copy.
const Tensor& Dropout::Forward(const Tensor& x) {
  CheckLayerInput(Describe(), x, features_);
  input_ = x;
  if (!pass_.training) {
    y_ = x;
    return y_;
  }
  y_ = BatchView(y_storage_, backend_, x.rows(), features_);
  ops::Dropout(Mask(), x, y_);
  return y_;
}

Tensor* Dropout::Backward(Tensor& dy, bool need_input_grad) {
  if (!need_input_grad) return nullptr;
  dx_ = BatchView(dx_storage_, backend_, dy.rows(), features_);
  ops::Dropout(Mask(), dy, dx_);
  return &dx_;
}

LayerTensors Dropout::tensors() const {
  LayerTensors t;
  t.Add("input", TensorRole::kInput, input_).Add("activation", TensorRole::kActivation, y_);
  return t;
}

}  // namespace fanin
