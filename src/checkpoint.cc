#include "fanin/checkpoint.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "fanin/layers.h"
#include "src/atomic_file.h"
#include "src/safetensors.h"

namespace fanin {
namespace {

using nlohmann::json;

constexpr const char* kFormat = "fanin.checkpoint/1";

std::string LayerTensorName(size_t layer, const std::string& parameter) {
  return "layers." + std::to_string(layer) + "." + parameter;
}

json LayerConfig(const Layer& layer, size_t index) {
  if (const auto* dense = dynamic_cast<const Dense*>(&layer)) {
    const std::vector<ParameterSpec> specs = dense->Parameters();
    return {{"type", "dense"},
            {"units", dense->output_features()},
            {"activation", ActivationName(dense->activation())},
            {"kernel_initializer", specs[0].initializer.name()},
            {"bias_initializer", specs[1].initializer.name()}};
  }
  if (const auto* activation = dynamic_cast<const ActivationLayer*>(&layer)) {
    return {{"type", "activation"}, {"activation", ActivationName(activation->activation())}};
  }
  throw std::invalid_argument("SaveCheckpoint: layer " + std::to_string(index) + " " +
                              layer.Describe() +
                              " cannot be saved; checkpoints hold Dense and ActivationLayer");
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

// Reads a checkpoint's metadata and tensors, failing with the file's name on anything
// missing, mistyped or inconsistent.
class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path), contents_(safetensors::Read(path)) {
    for (safetensors::NamedTensor& t : contents_.tensors) tensors_.emplace(t.name, &t);
  }

  [[noreturn]] void Fail(const std::string& what) const {
    throw std::runtime_error(path_ + ": not a valid fanin checkpoint: " + what);
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

  int64_t MetadataInt(const std::string& key, int64_t max) const {
    const std::string& text = Metadata(key);
    int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value < 0 || value > max) {
      Fail("metadata \"" + key + "\" is \"" + text + "\", not an integer in [0, " +
           std::to_string(max) + "]");
    }
    return value;
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

  // The tensor `name`, which must have `shape` and finite values; each is used once.
  std::vector<float> Take(const std::string& name, const Shape& shape) {
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
    std::vector<float> values = std::move(it->second->values);
    tensors_.erase(it);
    return values;
  }

  void CheckAllTaken() const {
    if (!tensors_.empty()) Fail("unexpected tensor \"" + tensors_.begin()->first + "\"");
  }

 private:
  const std::string& path_;
  safetensors::Contents contents_;
  std::map<std::string, safetensors::NamedTensor*> tensors_;  // those not yet taken
};

std::unique_ptr<Layer> MakeLayer(const Reader& reader, const json& config, size_t index) {
  const std::string where = "layer " + std::to_string(index);
  if (!config.is_object()) reader.Fail(where + " is not a JSON object");
  const std::string type = reader.Get<std::string>(config, "type", where);
  const std::string activation = reader.Get<std::string>(config, "activation", where);
  try {
    if (type == "dense") {
      return std::make_unique<Dense>(reader.Get<int64_t>(config, "units", where), activation,
                                     reader.Get<std::string>(config, "kernel_initializer", where),
                                     reader.Get<std::string>(config, "bias_initializer", where));
    }
    if (type == "activation") return std::make_unique<ActivationLayer>(activation);
  } catch (const std::invalid_argument& e) {  // unknown activation or initializer
    reader.Fail(where + ": " + e.what());
  }
  reader.Fail(where + ": unknown type \"" + type + "\"; valid: dense, activation");
}

Optimizer MakeOptimizer(const Reader& reader, const json& config) {
  const std::string where = "optimizer";
  const std::string type = reader.Get<std::string>(config, "type", where);
  const L2Penalty penalty{reader.Get<float>(config, "l2", where),
                          reader.Get<bool>(config, "kernels_only", where)};
  if (type == "sgd") {
    return Sgd{reader.Get<float>(config, "learning_rate", where),
               reader.Get<float>(config, "momentum", where),
               reader.Get<bool>(config, "nesterov", where), penalty};
  }
  if (type == "adam") {
    return Adam{reader.Get<float>(config, "learning_rate", where),
                reader.Get<float>(config, "beta1", where),
                reader.Get<float>(config, "beta2", where),
                reader.Get<float>(config, "epsilon", where), penalty};
  }
  reader.Fail("unknown optimizer \"" + type + "\"; valid: sgd, adam");
}

}  // namespace

void SaveCheckpoint(const Sequential& model, const std::string& path) {
  if (model.input_features() == 0) {
    throw std::invalid_argument("SaveCheckpoint: the model is not built; call Build() first");
  }
  json layers = json::array();
  safetensors::Contents contents;
  const std::vector<float> flat = model.parameters().ToHost();
  auto next = flat.begin();
  for (size_t i = 0; i < model.num_layers(); ++i) {
    layers.push_back(LayerConfig(model.layer(i), i));
    for (const ParameterSpec& spec : model.layer(i).Parameters()) {
      const auto end = next + ShapeSize(spec.shape);
      contents.tensors.push_back({LayerTensorName(i, spec.name), spec.shape, {next, end}});
      next = end;
    }
  }
  for (const auto& [name, tensor] : model.optimizer_state()) {
    contents.tensors.push_back({"optimizer." + name, tensor.shape(), tensor.ToHost()});
  }
  const json architecture = {{"input_features", model.input_features()}, {"layers", layers}};
  const json loss = {{"type", "binary_crossentropy"}, {"from_logits", model.loss().from_logits}};
  contents.metadata = {{"format", kFormat},
                       {"fanin_version", FANIN_VERSION},
                       {"architecture", architecture.dump()},
                       {"loss", loss.dump()},
                       {"optimizer", OptimizerConfig(model.optimizer()).dump()},
                       {"steps", std::to_string(model.steps_taken())},
                       {"epoch", std::to_string(model.epochs_completed())},
                       {"seed", std::to_string(model.seed())}};
  internal::WriteFileAtomically(path, safetensors::Serialize(contents));
}

Sequential LoadCheckpoint(const std::string& path, std::shared_ptr<Backend> backend) {
  Reader reader(path);
  if (reader.Metadata("format") != kFormat) {
    reader.Fail("format \"" + reader.Metadata("format") + "\" is not \"" + kFormat + "\"");
  }
  const json architecture = reader.MetadataJson("architecture");
  const json loss_config = reader.MetadataJson("loss");
  const std::string loss_type = reader.Get<std::string>(loss_config, "type", "loss");
  if (loss_type != "binary_crossentropy") {
    reader.Fail("unknown loss \"" + loss_type + "\"; valid: binary_crossentropy");
  }
  const BinaryCrossEntropy loss{reader.Get<bool>(loss_config, "from_logits", "loss")};
  const Optimizer optimizer = MakeOptimizer(reader, reader.MetadataJson("optimizer"));
  const int64_t steps = reader.MetadataInt("steps", std::numeric_limits<int64_t>::max());
  const int64_t epoch = reader.MetadataInt("epoch", std::numeric_limits<int>::max());
  const auto seed =
      static_cast<uint64_t>(reader.MetadataInt("seed", std::numeric_limits<int64_t>::max()));

  const int64_t input_features =
      reader.Get<int64_t>(architecture, "input_features", "architecture");
  const auto layers = architecture.find("layers");
  if (layers == architecture.end() || !layers->is_array() || layers->empty()) {
    reader.Fail("the architecture has no layers");
  }
  // The parameters are read against the shapes the architecture implies before anything
  // is allocated, so that a forged "units" cannot ask for more memory than the file holds.
  std::vector<float> flat;
  Sequential model(std::move(backend));
  int64_t width = input_features;
  for (size_t i = 0; i < layers->size(); ++i) {
    std::unique_ptr<Layer> layer = MakeLayer(reader, (*layers)[i], i);
    if (const auto* dense = dynamic_cast<const Dense*>(layer.get())) {
      for (const auto& [name, shape] :
           {std::pair<std::string, Shape>{"kernel", {width, dense->output_features()}},
            {"bias", {dense->output_features()}}}) {
        const std::vector<float> values = reader.Take(LayerTensorName(i, name), shape);
        flat.insert(flat.end(), values.begin(), values.end());
      }
      width = dense->output_features();
    }
    model.Add(std::move(layer));
  }
  model.Compile(loss, optimizer);
  model.Build(input_features, seed);
  Tensor parameters = model.parameters();
  parameters.CopyFromHost(flat);
  for (auto& [name, tensor] : model.optimizer_state()) {
    tensor.CopyFromHost(reader.Take("optimizer." + name, tensor.shape()));
  }
  reader.CheckAllTaken();
  model.RestoreProgress(steps, static_cast<int>(epoch));
  return model;
}

}  // namespace fanin
