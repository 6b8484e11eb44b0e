// The layers: Dense (with an optional fused activation), standalone activations, Dropout,
// BatchNormalization and Normalization.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fanin/activation.h"
#include "fanin/initializers.h"
#include "fanin/layer.h"

namespace fanin {

// y = act(x W + b), W [in x units], b [units]; Keras defaults: glorot_uniform kernel, zero
// bias, linear activation. The bias add and the activation are one fused pass over the
// GEMM output, and the activation's backward is fused with the bias-gradient reduction.
class Dense : public Layer {
 public:
  explicit Dense(int64_t units, ActivationSpec activation = Activation::kLinear,
                 Initializer kernel_initializer = Initializer::GlorotUniform(),
                 Initializer bias_initializer = Initializer::Zeros());
  // Dense(100, "tanh", "glorot_normal"), Dense(100, "elu(0.5)"): names as in ParseActivation /
  // Initializer::FromName.
  Dense(int64_t units, std::string_view activation,
        std::string_view kernel_initializer = "glorot_uniform",
        std::string_view bias_initializer = "zeros");

  std::string Describe() const override;
  Config config() const override;  // "dense": units, activation (alpha), kernel_/bias_initializer
  int64_t Build(std::shared_ptr<Backend> backend, int64_t input_features) override;
  std::vector<ParameterSpec> Parameters() const override;
  void BindParameters(std::span<const Tensor> values, std::span<const Tensor> grads) override;
  const Tensor& Forward(const Tensor& x) override;
  Tensor* Backward(Tensor& dy, bool need_input_grad) override;
  bool CollectForwardStats(const ForwardStats* stats) override;
  LayerTensors tensors() const override;
  int64_t output_features() const override { return units_; }

  ActivationSpec activation() const { return activation_; }

 private:
  int64_t units_;
  ActivationSpec activation_;
  Initializer kernel_initializer_;
  Initializer bias_initializer_;
  std::shared_ptr<Backend> backend_;
  int64_t input_features_ = 0;
  Tensor kernel_, bias_, kernel_grad_, bias_grad_;
  Tensor input_;                               // handle to the last x
  Tensor z_storage_, a_storage_, dx_storage_;  // grown to the largest batch seen
  Tensor z_, a_, dx_;                          // views of the current batch's rows
  std::optional<ForwardStats> stats_;          // what the next Forwards summarize
};

// y = act(x), element-wise.
class ActivationLayer : public Layer {
 public:
  explicit ActivationLayer(ActivationSpec activation);
  explicit ActivationLayer(std::string_view activation);

  std::string Describe() const override;
  Config config() const override;  // "activation": activation (alpha)
  int64_t Build(std::shared_ptr<Backend> backend, int64_t input_features) override;
  const Tensor& Forward(const Tensor& x) override;
  Tensor* Backward(Tensor& dy, bool need_input_grad) override;
  bool CollectForwardStats(const ForwardStats* stats) override;
  LayerTensors tensors() const override;
  int64_t output_features() const override { return features_; }

  ActivationSpec activation() const { return activation_; }

 private:
  ActivationSpec activation_;
  std::shared_ptr<Backend> backend_;
  int64_t features_ = 0;
  Tensor input_;
  Tensor a_storage_, a_;
  std::optional<ForwardStats> stats_;
};

// Keras's Dropout(rate): in training, each element of the input is zeroed with probability
// `rate` and the others scaled by 1 / (1 - rate); in Evaluate and Predict, the identity. The
// mask of step t in layer i is Philox's under the model's seed at stream kDropoutStream + i
// (ops::Dropout), the same on every backend, and the backward pass regenerates it.
class Dropout : public Layer {
 public:
  static constexpr uint32_t kDropoutStream = 0x40000000;  // above any parameter's stream
  explicit Dropout(float rate);

  std::string Describe() const override;
  Config config() const override;  // "dropout": rate
  int64_t Build(std::shared_ptr<Backend> backend, int64_t input_features) override;
  void SetForwardPass(const ForwardPass& pass) override { pass_ = pass; }
  bool draws_each_step() const override { return true; }
  const Tensor& Forward(const Tensor& x) override;
  Tensor* Backward(Tensor& dy, bool need_input_grad) override;
  LayerTensors tensors() const override;
  int64_t output_features() const override { return features_; }

  float rate() const { return rate_; }

 private:
  DropoutMask Mask() const;

  float rate_;
  std::shared_ptr<Backend> backend_;
  int64_t features_ = 0;
  ForwardPass pass_;
  Tensor input_;
  Tensor y_storage_, y_, dx_storage_, dx_;
};

// Keras's BatchNormalization (axis -1): each feature normalized over the batch in training,
// y = gamma (x - mean) / sqrt(var + epsilon) + beta, and by the moving mean and variance in
// Evaluate and Predict; each training forward (Fit's steps, ComputeGradients) moves them by
// moving = momentum moving + (1 - momentum) batch, var the batch's over n. Parameters gamma
// (ones) and beta (zeros); state moving_mean (zeros) and moving_variance (ones), saved by
// checkpoints. The hooks see the normalized values as "z", y as "activation", "gamma",
// "beta", "gamma_grad", "beta_grad", and the state "moving_mean" and "moving_variance".
class BatchNormalization : public Layer {
 public:
  explicit BatchNormalization(BatchNormSpec spec = {});

  std::string Describe() const override;
  Config config() const override;  // "batch_normalization": momentum, epsilon
  int64_t Build(std::shared_ptr<Backend> backend, int64_t input_features) override;
  std::vector<ParameterSpec> Parameters() const override;
  void BindParameters(std::span<const Tensor> values, std::span<const Tensor> grads) override;
  std::vector<std::pair<std::string, Tensor>> state() const override;
  void SetForwardPass(const ForwardPass& pass) override { training_ = pass.training; }
  const Tensor& Forward(const Tensor& x) override;
  Tensor* Backward(Tensor& dy, bool need_input_grad) override;
  LayerTensors tensors() const override;
  int64_t output_features() const override { return features_; }

  const BatchNormSpec& spec() const { return spec_; }

 private:
  BatchNormSpec spec_;
  std::shared_ptr<Backend> backend_;
  int64_t features_ = 0;
  bool training_ = false;
  Tensor gamma_, beta_, gamma_grad_, beta_grad_, moving_mean_, moving_var_, inv_std_;
  Tensor input_;
  Tensor xhat_storage_, y_storage_, dx_storage_;
  Tensor xhat_, y_, dx_;
};

// Keras's Normalization (axis -1): feature standardization saved with the model,
// y = (x - mean) / max(sqrt(variance), 1e-7), mean and variance per feature (population,
// over the rows) fitted by Adapt on the training data, not trained. Adapt before Build (or
// after, on the built layer); a checkpoint saves and restores them as the state "mean" and
// "variance" (variance stored at least 1e-14, Keras's 1e-7 floor on the std squared). A
// Forward before Adapt or a checkpoint load throws: an unfitted standardization is refused,
// not applied as the identity. The hooks see "input", "activation", and the state.
//
//   auto norm = std::make_unique<fanin::Normalization>();
//   norm->Adapt(train.x);  // the training part only
//   model.Add(std::move(norm));
class Normalization : public Layer {
 public:
  // The smallest std the layer divides by (Keras's backend epsilon).
  static constexpr double kMinStd = 1e-7;

  Normalization() = default;

  // Fits mean and variance to x [n x features] (n >= 1, finite; a host or device tensor),
  // in double, in row order. Throws std::invalid_argument naming the problem (an empty or
  // non-finite x, a width other than the built layer's).
  void Adapt(const Tensor& x);
  bool adapted() const { return adapted_; }

  std::string Describe() const override;
  Config config() const override;  // "normalization", no settings
  int64_t Build(std::shared_ptr<Backend> backend, int64_t input_features) override;
  std::vector<std::pair<std::string, Tensor>> state() const override;
  void StateLoaded() override { adapted_ = true; }
  const Tensor& Forward(const Tensor& x) override;
  Tensor* Backward(Tensor& dy, bool need_input_grad) override;
  LayerTensors tensors() const override;
  int64_t output_features() const override { return features_; }

 private:
  void Upload();

  std::shared_ptr<Backend> backend_;
  int64_t features_ = 0;
  bool adapted_ = false;
  std::vector<float> host_mean_, host_variance_;  // Adapt's, until Build uploads them
  Tensor mean_, variance_, zeros_, ones_, unused_inv_std_;
  Tensor input_;
  Tensor y_storage_, scratch_storage_, dx_storage_;
  Tensor y_, scratch_, dx_;
};

}  // namespace fanin
