#include "fanin/activation.h"

#include <stdexcept>
#include <string>

namespace fanin {

Activation ParseActivation(std::string_view name) {
  if (name == "linear" || name == "none" || name.empty()) return Activation::kLinear;
  if (name == "sigmoid") return Activation::kSigmoid;
  if (name == "tanh") return Activation::kTanh;
  if (name == "relu") return Activation::kRelu;
  throw std::invalid_argument("unknown activation '" + std::string(name) +
                              "'; valid: linear, sigmoid, tanh, relu");
}

std::string_view ActivationName(Activation activation) {
  switch (activation) {
    case Activation::kLinear:
      return "linear";
    case Activation::kSigmoid:
      return "sigmoid";
    case Activation::kTanh:
      return "tanh";
    case Activation::kRelu:
      return "relu";
  }
  return "?";
}

}  // namespace fanin
