#include "src/model_config.h"

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fanin/config.h"

namespace fanin {
namespace internal {

using nlohmann::json;

json ArchitectureJson(const Sequential& model) {
  json layers = json::array();
  for (size_t i = 0; i < model.num_layers(); ++i) {
    layers.push_back(json::parse(model.layer(i).config().ToJson()));
  }
  if (model.input_features() == 0) return {{"layers", layers}};
  return {{"input_features", model.input_features()}, {"layers", layers}};
}

Architecture ParseArchitecture(const json& architecture) {
  if (!architecture.is_object()) {
    throw std::invalid_argument("the architecture is " + architecture.dump() +
                                ", not a JSON object");
  }
  for (const auto& [key, ignored] : architecture.items()) {
    if (key != "input_features" && key != "layers") {
      throw std::invalid_argument("the architecture has an unknown field \"" + key +
                                  "\"; valid: input_features, layers");
    }
  }
  Architecture result;
  if (const auto it = architecture.find("input_features"); it != architecture.end()) {
    // No silent conversion of 2.5 to 2 or of "10" to 10.
    if (!it->is_number_integer() || it->get<int64_t>() < 1) {
      throw std::invalid_argument("the architecture: \"input_features\" is " + it->dump() +
                                  ", not a positive integer");
    }
    result.input_features = it->get<int64_t>();
  }
  const auto layers = architecture.find("layers");
  if (layers == architecture.end() || !layers->is_array()) {
    throw std::invalid_argument("the architecture has no \"layers\" array");
  }
  for (size_t i = 0; i < layers->size(); ++i) {
    const json& entry = (*layers)[i];
    const std::string where = "layer " + std::to_string(i);
    if (!entry.is_object()) {
      throw std::invalid_argument(where + " is " + entry.dump() + ", not a JSON object");
    }
    try {
      result.layers.push_back(MakeLayer(Config::FromJson(entry.dump())));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(where + ": " + e.what());
    }
  }
  return result;
}

std::string ArchitectureDifference(const json& a, const json& b) {
  const auto in_both = [](const std::string& what, const json& x, const json& y) {
    return what + ": " + (x.is_null() ? "none" : x.dump()) + " in the file, " +
           (y.is_null() ? "none" : y.dump()) + " in the model";
  };
  const json no_value;
  const auto field = [&](const json& object, const std::string& key) -> const json& {
    const auto it = object.find(key);
    return it == object.end() ? no_value : *it;
  };
  if (field(a, "input_features") != field(b, "input_features")) {
    return in_both("input_features", field(a, "input_features"), field(b, "input_features"));
  }
  const json& la = a.at("layers");
  const json& lb = b.at("layers");
  if (la.size() != lb.size()) {
    return std::to_string(la.size()) + " layers in the file, " + std::to_string(lb.size()) +
           " in the model";
  }
  for (size_t i = 0; i < la.size(); ++i) {
    const std::string where = "layer " + std::to_string(i);
    if (field(la[i], "type") != field(lb[i], "type")) {
      return in_both(where + " type", field(la[i], "type"), field(lb[i], "type"));
    }
    // nlohmann::json objects iterate in key order; a key missing on one side is a difference.
    std::vector<std::string> keys;
    for (const auto& [key, ignored] : la[i].items()) keys.push_back(key);
    for (const auto& [key, ignored] : lb[i].items()) {
      if (!la[i].contains(key)) keys.push_back(key);
    }
    std::sort(keys.begin(), keys.end());
    for (const std::string& key : keys) {
      if (field(la[i], key) != field(lb[i], key)) {
        return in_both(where + " (" + field(la[i], "type").get<std::string>() + ") " + key,
                       field(la[i], key), field(lb[i], key));
      }
    }
  }
  return "";
}

}  // namespace internal

std::string Sequential::ConfigJson() const { return internal::ArchitectureJson(*this).dump(); }

Sequential Sequential::FromConfigJson(std::string_view json, std::shared_ptr<Backend> backend) {
  const std::string context = "Sequential::FromConfigJson: ";
  internal::Architecture architecture;
  try {
    architecture = internal::ParseArchitecture(nlohmann::json::parse(json));
  } catch (const nlohmann::json::exception& e) {  // a parse_error, or out_of_range for 1e400
    throw std::invalid_argument(context + "not valid JSON: " + e.what());
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(context + e.what());
  }
  Sequential model(std::move(backend));
  for (std::unique_ptr<Layer>& layer : architecture.layers) model.Add(std::move(layer));
  if (architecture.input_features == 0) return model;
  if (model.num_layers() == 0) {
    throw std::invalid_argument(context + "input_features " +
                                std::to_string(architecture.input_features) +
                                " is given, but there are no layers to build");
  }
  try {
    model.Build(architecture.input_features);
  } catch (const std::exception& e) {  // a width a layer cannot take, or too many parameters
    throw std::invalid_argument(context + "input_features " +
                                std::to_string(architecture.input_features) + ": " + e.what());
  }
  return model;
}

}  // namespace fanin
