// The layer interface. A layer declares its parameters, the model allocates them (in one
// flat buffer, so an optimizer step is one call over all of them), and the layer computes
// forward and backward on the backend it was built for, never knowing which one that is.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fanin/backend.h"
#include "fanin/config.h"
#include "fanin/initializers.h"
#include "fanin/ops.h"
#include "fanin/tensor.h"

namespace fanin {

struct ParameterSpec {
  std::string name;  // "kernel", "bias"
  Shape shape;
  Initializer initializer;
  bool is_kernel = false;  // L2 penalties limited to kernels apply to these
};

// What a tensor is to its layer; the statistics summarize kZ, kActivation, kParameter and
// kGradient tensors, and skip the input (the previous layer's activation) and the state.
enum class TensorRole { kInput, kZ, kActivation, kParameter, kGradient, kState };

struct NamedTensor {
  std::string name;
  TensorRole role;
  const Tensor* tensor;  // the layer's own buffer, valid until its next Forward/Backward
};

// What a layer exposes of its last step, for hooks, statistics and the recorder: every tensor
// by name, in this order: "input" [n x in], "z" (what the layer's nonlinearity reads, x W + b
// for Dense) and "activation" (the output) [n x out], each parameter under its ParameterSpec
// name, each parameter's gradient as "<name>_grad", then the state() tensors. A layer lists
// only the tensors it has (an activation layer has no kernel); a new layer's tensors reach
// the statistics and runs.h5 by being listed here.
struct LayerTensors {
  std::vector<NamedTensor> list;

  LayerTensors& Add(std::string name, TensorRole role, const Tensor& tensor) {
    list.push_back({std::move(name), role, &tensor});
    return *this;
  }
  // The tensor called `name`, or null when the layer has none.
  const Tensor* operator[](std::string_view name) const {
    for (const NamedTensor& t : list) {
      if (t.name == name) return t.tensor;
    }
    return nullptr;
  }
};

// What the next Forward is for, set by the model before every forward pass: training (a
// step's forward, whose Backward follows) or inference (Evaluate, Predict); and the model's
// seed, the step number and the layer's index, which seed a layer's randomness (Dropout's
// masks), so that a run repeats on any backend.
struct ForwardPass {
  bool training = false;
  uint64_t seed = 0;
  int64_t step = 0;
  size_t layer = 0;
};

class Layer {
 public:
  virtual ~Layer() = default;

  // "Dense(100, tanh, kernel=glorot_normal)".
  virtual std::string Describe() const = 0;
  // The registered type name and every setting (not the parameters' values), as Keras's
  // get_config: MakeLayer(config()) builds the same layer, unbuilt. Checkpoints save this.
  virtual Config config() const = 0;
  // Called once by the model, before anything else: fixes the input width and the backend;
  // returns the output width. Throws std::invalid_argument for an impossible width, and
  // std::length_error naming the layer when its parameters would not fit in a tensor
  // (more than kMaxTensorSize values).
  virtual int64_t Build(std::shared_ptr<Backend> backend, int64_t input_features) = 0;
  virtual std::vector<ParameterSpec> Parameters() const { return {}; }
  // Views into the model's flat buffers, one per ParameterSpec, in that order.
  virtual void BindParameters(std::span<const Tensor> values, std::span<const Tensor> grads) {
    (void)values;
    (void)grads;
  }

  // Tensors the layer keeps besides its parameters and that a checkpoint must save (the
  // moving statistics of BatchNormalization), by name; handles sharing the layer's storage,
  // valid after Build. Not trained by the optimizer.
  virtual std::vector<std::pair<std::string, Tensor>> state() const { return {}; }
  // Called after a checkpoint has written saved values into state()'s tensors.
  virtual void StateLoaded() {}

  virtual void SetForwardPass(const ForwardPass& pass) { (void)pass; }
  // Whether Forward draws new random numbers at each step (Dropout): a recorded step, which
  // replays one step's kernels with their arguments, cannot hold such a layer.
  virtual bool draws_each_step() const { return false; }

  // y = f(x) for x [n x in]. The result is owned by the layer, valid until its next Forward.
  // Throws std::invalid_argument naming the layer and both shapes when x has the wrong width.
  virtual const Tensor& Forward(const Tensor& x) = 0;
  // Given dy = dLoss/dy of the last Forward (which may be overwritten), writes the
  // parameter gradients and, when need_input_grad, returns dLoss/dx (owned by the layer);
  // else returns null.
  virtual Tensor* Backward(Tensor& dy, bool need_input_grad) = 0;

  // Asks the next Forwards to summarize the z and activation they write into `stats`
  // (null: stop). Returns false when the layer cannot, and the model then summarizes its
  // tensors() after Forward instead. A layer sets the activation's saturation band itself.
  virtual bool CollectForwardStats(const ForwardStats* stats) {
    (void)stats;
    return false;
  }

  virtual LayerTensors tensors() const = 0;
  virtual int64_t output_features() const = 0;
};

// The layer registry: "dense", "activation", "dropout", "batch_normalization",
// "normalization", and what RegisterLayer adds; a factory checks its config's keys
// (Config::CheckKeys) and values. MakeLayer throws std::invalid_argument for an unknown type
// (naming the closest and all registered ones) or a bad setting (naming it).
using LayerFactory = std::function<std::unique_ptr<Layer>(const Config&)>;
void RegisterLayer(const std::string& type, LayerFactory factory);
std::unique_ptr<Layer> MakeLayer(const Config& config);
std::vector<std::string> LayerTypes();

}  // namespace fanin
