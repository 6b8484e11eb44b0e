#include "fanin/checkpoint.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "fanin/layers.h"
#include "src/atomic_file.h"
#include "src/model_config.h"
#include "src/safetensors.h"

namespace fanin {
namespace {

using nlohmann::json;

constexpr const char* kFormat = "fanin.checkpoint/1";

std::string LayerTensorName(size_t layer, const std::string& parameter) {
  return "layers." + std::to_string(layer) + "." + parameter;
}

// Floats go through JSON as doubles, which hold every float exactly, so they read back
// bit for bit.
json OptimizerConfig(const Optimizer& optimizer) {
  if (const Sgd* sgd = std::get_if<Sgd>(&optimizer)) {
    return {{"type", "sgd"},
            {"learning_rate", sgd->learning_rate},
            {"momentum", sgd->momentum},
            {"nesterov", sgd->nesterov},
            {"l2", sgd->penalty.l2},
            {"kernels_only", sgd->penalty.kernels_only}};
  }
  const Adam& adam = std::get<Adam>(optimizer);
  return {{"type", "adam"},
          {"learning_rate", adam.learning_rate},
          {"beta1", adam.beta1},
          {"beta2", adam.beta2},
          {"epsilon", adam.epsilon},
          {"l2", adam.penalty.l2},
          {"kernels_only", adam.penalty.kernels_only}};
}

// Reads a checkpoint's metadata and tensors, failing with `context` (which names the file)
// on anything missing, mistyped, out of range or inconsistent. LoadCheckpoint reads the
// file through it, and SaveCheckpoint what it is about to write, so that a file that
// loading would refuse is never written.
class Reader {
 public:
  Reader(const safetensors::Contents& contents, std::string context)
      : context_(std::move(context)), contents_(contents) {
    for (const safetensors::NamedTensor& t : contents_.tensors) tensors_.emplace(t.name, &t);
  }

  [[noreturn]] void Fail(const std::string& what) const {
    throw std::runtime_error(context_ + what);
  }

  const std::string& Metadata(const std::string& key) const {
    const auto it = contents_.metadata.find(key);
    if (it == contents_.metadata.end()) Fail("no metadata \"" + key + "\"");
    return it->second;
  }

  json MetadataJson(const std::string& key) const {
    try {
      json value = json::parse(Metadata(key));
      if (!value.is_object()) Fail("metadata \"" + key + "\" is not a JSON object");
      return value;
    } catch (const json::exception& e) {  // a parse_error, or out_of_range for 1e400
      Fail("metadata \"" + key + "\" is not valid JSON: " + e.what());
    }
  }

  // An integer in [0, the largest T].
  template <typename T>
  T MetadataInt(const std::string& key) const {
    const std::string& text = Metadata(key);
    T value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value < 0) {
      Fail("metadata \"" + key + "\" is \"" + text + "\", not an integer in [0, " +
           std::to_string(std::numeric_limits<T>::max()) + "]");
    }
    return value;
  }

  // Fails on a field of `object` that is not in `known`: a misspelt or foreign setting
  // would otherwise be dropped without a word.
  void CheckFields(const json& object, std::initializer_list<std::string_view> known,
                   const std::string& where) const {
    for (const auto& [key, ignored] : object.items()) {
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      std::string valid;
      for (const std::string_view field : known)
        valid += (valid.empty() ? "" : ", ") + std::string(field);
      Fail(where + " has an unknown field \"" + key + "\"; valid: " + valid);
    }
  }

  // object[key] as a T, checked: no silent conversion of 2.5 to 2 or of "1" to 1.
  template <typename T>
  T Get(const json& object, const char* key, const std::string& where) const {
    const auto it = object.find(key);
    if (it == object.end()) Fail(where + " has no \"" + key + "\"");
    const json& v = *it;
    const std::string bad = where + ": \"" + key + "\" is " + v.dump() + ", ";
    if constexpr (std::is_same_v<T, bool>) {
      if (!v.is_boolean()) Fail(bad + "not true or false");
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!v.is_string()) Fail(bad + "not a string");
    } else if constexpr (std::is_integral_v<T>) {
      if (!v.is_number_unsigned() || v.get<uint64_t>() < 1 ||
          v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
        Fail(bad + "not a positive integer");
      }
    } else {
      if (!v.is_number() || !std::isfinite(static_cast<T>(v.get<double>()))) {
        Fail(bad + "not a finite number");
      }
    }
    return v.get<T>();
  }

  // The values of tensor `name`, which must have `shape` and finite values (Adam's running
  // mean of squared gradients, non-negative ones too); each is taken once.
  const std::vector<float>& Take(const std::string& name, const Shape& shape) {
    const auto it = tensors_.find(name);
    if (it == tensors_.end()) Fail("no tensor \"" + name + "\"");
    const safetensors::NamedTensor& t = *it->second;
    if (t.shape != shape) {
      Fail("tensor \"" + name + "\" has shape " + ShapeToString(t.shape) +
           ", the architecture needs " + ShapeToString(shape));
    }
    for (float v : t.values) {
      if (!std::isfinite(v)) Fail("tensor \"" + name + "\" holds NaN or infinite values");
    }
    if (name == "optimizer.adam_v" &&
        std::any_of(t.values.begin(), t.values.end(), [](float v) { return v < 0.0f; })) {
      Fail("tensor \"" + name + "\" holds negative values, which a mean of squares cannot");
    }
    tensors_.erase(it);
    return t.values;
  }

  void CheckAllTaken() const {
    if (!tensors_.empty()) Fail("unexpected tensor \"" + tensors_.begin()->first + "\"");
  }

 private:
  const std::string context_;
  const safetensors::Contents& contents_;
  std::map<std::string, const safetensors::NamedTensor*> tensors_;  // those not yet taken
};

Optimizer MakeOptimizer(const Reader& reader, const json& config) {
  const std::string where = "optimizer";
  const std::string type = reader.Get<std::string>(config, "type", where);
  Optimizer optimizer;
  if (type == "sgd") {
    reader.CheckFields(
        config, {"type", "learning_rate", "momentum", "nesterov", "l2", "kernels_only"}, where);
    optimizer = Sgd{
        reader.Get<float>(config, "learning_rate", where),
        reader.Get<float>(config, "momentum", where),
        reader.Get<bool>(config, "nesterov", where),
        {reader.Get<float>(config, "l2", where), reader.Get<bool>(config, "kernels_only", where)}};
  } else if (type == "adam") {
    reader.CheckFields(config,
                       {"type", "learning_rate", "beta1", "beta2", "epsilon", "l2", "kernels_only"},
                       where);
    optimizer = Adam{
        reader.Get<float>(config, "learning_rate", where),
        reader.Get<float>(config, "beta1", where),
        reader.Get<float>(config, "beta2", where),
        reader.Get<float>(config, "epsilon", where),
        {reader.Get<float>(config, "l2", where), reader.Get<bool>(config, "kernels_only", where)}};
  } else {
    reader.Fail("unknown optimizer \"" + type + "\"; valid: sgd, adam");
  }
  try {
    ValidateOptimizer(optimizer);
  } catch (const std::invalid_argument& e) {
    reader.Fail(where + ": " + e.what());
  }
  return optimizer;
}

// Everything in a checkpoint but the optimizer state, checked; the layers are not built
// and the parameters are the file's tensors in parameters() order.
struct Decoded {
  std::shared_ptr<const Loss> loss;
  Optimizer optimizer;
  int64_t steps = 0;
  int epoch = 0;
  uint64_t seed = 0;
  int64_t input_features = 0;
  std::vector<std::unique_ptr<Layer>> layers;
  std::vector<const std::vector<float>*> parameters;
  // Each layer's state tensors (Layer::state), in its order: the values to restore.
  std::vector<std::vector<const std::vector<float>*>> states;
};

Decoded Decode(Reader& reader) {
  if (reader.Metadata("format") != kFormat) {
    reader.Fail("format \"" + reader.Metadata("format") + "\" is not \"" + kFormat + "\"");
  }
  Decoded d;
  const json architecture = reader.MetadataJson("architecture");
  reader.CheckFields(architecture, {"input_features", "layers"}, "the architecture");
  // The loss's Config as JSON, built by the loss registry (fanin/loss.h), which names any
  // unknown type or parameter.
  try {
    d.loss = MakeLoss(Config::FromJson(reader.Metadata("loss")));
  } catch (const std::invalid_argument& e) {
    reader.Fail(std::string("loss: ") + e.what());
  }
  d.optimizer = MakeOptimizer(reader, reader.MetadataJson("optimizer"));
  d.steps = reader.MetadataInt<int64_t>("steps");
  d.epoch = reader.MetadataInt<int>("epoch");
  d.seed = reader.MetadataInt<uint64_t>("seed");

  d.input_features = reader.Get<int64_t>(architecture, "input_features", "architecture");
  const auto layers = architecture.find("layers");
  if (layers == architecture.end() || !layers->is_array() || layers->empty()) {
    reader.Fail("the architecture has no layers");
  }
  // The layers through the layer registry, which names any unknown type, setting or value.
  internal::Architecture parsed;
  try {
    parsed = internal::ParseArchitecture(architecture);
  } catch (const std::invalid_argument& e) {
    reader.Fail(e.what());
  }
  // The parameters are checked against the shapes the architecture implies before anything
  // is allocated, so that a forged "units" cannot ask for more memory than the file holds.
  int64_t width = d.input_features;
  for (size_t i = 0; i < parsed.layers.size(); ++i) {
    std::unique_ptr<Layer>& layer = parsed.layers[i];
    // A second copy, built on the host (which allocates nothing), gives the parameter
    // shapes; Build refuses a width whose parameters would not fit in a tensor.
    std::unique_ptr<Layer> probe = MakeLayer(layer->config());
    try {
      width = probe->Build(HostBackend(), width);
    } catch (const std::exception& e) {
      reader.Fail("layer " + std::to_string(i) + ": " + e.what());
    }
    for (const ParameterSpec& spec : probe->Parameters()) {
      d.parameters.push_back(&reader.Take(LayerTensorName(i, spec.name), spec.shape));
    }
    d.states.emplace_back();
    for (const auto& [name, tensor] : probe->state()) {
      d.states.back().push_back(&reader.Take(LayerTensorName(i, name), tensor.shape()));
    }
    d.layers.push_back(std::move(layer));
  }
  return d;
}

// The optimizer state tensors that `model` has (given its optimizer), taken from the file
// with their values, which must be all that is left in it.
std::vector<std::pair<Tensor, const std::vector<float>*>> TakeOptimizerState(
    Reader& reader, const Sequential& model) {
  std::vector<std::pair<Tensor, const std::vector<float>*>> state;
  for (const auto& [name, tensor] : model.optimizer_state()) {
    state.emplace_back(tensor, &reader.Take("optimizer." + name, {model.parameter_count()}));
  }
  reader.CheckAllTaken();
  return state;
}

// The file's parameters and layer state into `model`, built with the file's architecture.
void CopyParametersAndState(const Decoded& d, Sequential& model) {
  std::vector<float> packed;
  for (const std::vector<float>* values : d.parameters) {
    packed.insert(packed.end(), values->begin(), values->end());
  }
  Tensor parameters = model.parameters();
  model.Unpack(packed, parameters);
  for (size_t i = 0; i < d.states.size(); ++i) {
    const auto state = model.layer(i).state();
    for (size_t k = 0; k < state.size(); ++k) {
      Tensor target = state[k].second;
      Tensor::FromHost(HostBackend(), target.shape(), *d.states[i][k]).CopyTo(target);
    }
    model.layer(i).StateLoaded();
  }
}

}  // namespace

void SaveCheckpoint(const Sequential& model, const std::string& path) {
  if (model.input_features() == 0) {
    throw std::invalid_argument("SaveCheckpoint: the model is not built; call Build() first");
  }
  safetensors::Contents contents;
  // The file holds the parameters packed, one tensor each, and the optimizer's state
  // packed the same way: no trace of the model's alignment gaps.
  const std::vector<float> packed = model.Packed(model.parameters());
  auto next = packed.begin();
  for (size_t i = 0; i < model.num_layers(); ++i) {
    for (const ParameterSpec& spec : model.layer(i).Parameters()) {
      const auto end = next + ShapeSize(spec.shape);
      contents.tensors.push_back({LayerTensorName(i, spec.name), spec.shape, {next, end}});
      next = end;
    }
    for (const auto& [name, tensor] : model.layer(i).state()) {
      contents.tensors.push_back({LayerTensorName(i, name), tensor.shape(), tensor.ToHost()});
    }
  }
  for (const auto& [name, tensor] : model.optimizer_state()) {
    contents.tensors.push_back(
        {"optimizer." + name, {model.parameter_count()}, model.Packed(tensor)});
  }
  contents.metadata = {{"format", kFormat},
                       {"fanin_version", FANIN_VERSION},
                       {"architecture", internal::ArchitectureJson(model).dump()},
                       {"loss", model.loss().config().ToJson()},
                       {"optimizer", OptimizerConfig(model.optimizer()).dump()},
                       {"steps", std::to_string(model.steps_taken())},
                       {"epoch", std::to_string(model.epochs_completed())},
                       {"seed", std::to_string(model.seed())}};
  Reader reader(contents, "SaveCheckpoint: '" + path +
                              "' not written, since LoadCheckpoint would refuse the file: ");
  Decode(reader);
  TakeOptimizerState(reader, model);
  internal::WriteFileAtomically(path, safetensors::Serialize(contents));
}

Sequential LoadCheckpoint(const std::string& path, std::shared_ptr<Backend> backend) {
  const safetensors::Contents contents = safetensors::Read(path);
  Reader reader(contents, path + ": not a valid fanin checkpoint: ");
  Decoded d = Decode(reader);
  Sequential model(std::move(backend));
  for (std::unique_ptr<Layer>& layer : d.layers) model.Add(std::move(layer));
  model.Compile(d.loss, d.optimizer);
  model.Build(d.input_features, d.seed);
  CopyParametersAndState(d, model);
  for (auto& [tensor, values] : TakeOptimizerState(reader, model)) model.Unpack(*values, tensor);
  model.RestoreProgress(d.steps, d.epoch);
  return model;
}

void LoadCheckpointInto(Sequential& model, const std::string& path) {
  if (model.input_features() == 0) {
    throw std::invalid_argument("LoadCheckpointInto: the model is not built; call Build() first");
  }
  const safetensors::Contents contents = safetensors::Read(path);
  Reader reader(contents, path + ": not a valid fanin checkpoint: ");
  Decoded d = Decode(reader);
  // The file's layers, made by MakeLayer, give their configs as ArchitectureJson writes
  // them: a file written before a layer setting existed compares with that setting's default.
  Sequential saved;
  for (std::unique_ptr<Layer>& layer : d.layers) saved.Add(std::move(layer));
  nlohmann::json file_architecture = internal::ArchitectureJson(saved);
  file_architecture["input_features"] = d.input_features;
  const std::string difference =
      internal::ArchitectureDifference(file_architecture, internal::ArchitectureJson(model));
  if (!difference.empty()) {
    throw std::invalid_argument("LoadCheckpointInto: '" + path +
                                "' holds another architecture: " + difference);
  }
  CopyParametersAndState(d, model);
}

}  // namespace fanin
