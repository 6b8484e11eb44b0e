// The architecture of a Sequential model as JSON, shared by Sequential::ConfigJson and
// FromConfigJson and by checkpoints (their "architecture" metadata), so that a config file
// and a checkpoint describe a model in the same words and are read by the same code.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fanin/layer.h"
#include "fanin/model.h"

namespace fanin::internal {

// {"input_features": n (once built), "layers": [each layer's config(), ...]}.
nlohmann::json ArchitectureJson(const Sequential& model);

struct Architecture {
  int64_t input_features = 0;                  // 0 when the JSON gives none
  std::vector<std::unique_ptr<Layer>> layers;  // unbuilt, made by MakeLayer
};

// Reads what ArchitectureJson writes. Throws std::invalid_argument naming the problem: not
// an object, an unknown field, an "input_features" that is not a positive integer, no
// "layers" array, and for layer i a "layer i ..." message (not an object, or what MakeLayer
// refuses: an unknown type or setting).
Architecture ParseArchitecture(const nlohmann::json& architecture);

// The first difference between two architectures as ArchitectureJson writes them, in the
// words "input_features: 10 in the file, 12 in the model" (`a` is "the file", `b` "the
// model"): input_features, then the number of layers, then for the first layer that differs
// its type, then its first setting that differs, in key order. Empty when they are the same.
std::string ArchitectureDifference(const nlohmann::json& a, const nlohmann::json& b);

}  // namespace fanin::internal
