// The element-wise activations of the framework, by enum and by Keras name.
#pragma once

#include <string_view>

namespace fanin {

enum class Activation { kLinear, kSigmoid, kTanh, kRelu };

// "linear" (also "" and "none"), "sigmoid", "tanh", "relu". An unknown name throws
// std::invalid_argument listing the valid ones.
Activation ParseActivation(std::string_view name);
std::string_view ActivationName(Activation activation);

}  // namespace fanin
