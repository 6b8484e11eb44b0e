// The factories of the built-in layers, which the layer registry (src/layer_registry.cc)
// starts with; each lives beside its layer.
#pragma once

#include <memory>

#include "fanin/config.h"
#include "fanin/layer.h"

namespace fanin::internal {

std::unique_ptr<Layer> MakeDense(const Config& config);               // src/dense.cc
std::unique_ptr<Layer> MakeActivationLayer(const Config& config);     // src/activation_layer.cc
std::unique_ptr<Layer> MakeDropout(const Config& config);             // src/dropout.cc
std::unique_ptr<Layer> MakeBatchNormalization(const Config& config);  // batch_normalization.cc
std::unique_ptr<Layer> MakeNormalization(const Config& config);       // src/normalization.cc

}  // namespace fanin::internal
