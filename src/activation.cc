#include "fanin/activation.h"

#include <stdexcept>
#include <string>

namespace fanin {

Activation ParseActivation(std::string_view name) {
  if (name == "none" || name.empty()) return Activation::kLinear;
#define FANIN_X(tag, keras_name, ...) \
  if (name == keras_name) return Activation::tag;
  FANIN_ACTIVATIONS(FANIN_X)
#undef FANIN_X
  std::string valid;
  for (const Activation activation : kActivations) {
    valid += (valid.empty() ? "" : ", ") + std::string(ActivationName(activation));
  }
  throw std::invalid_argument("unknown activation '" + std::string(name) + "'; valid: " + valid);
}

std::string_view ActivationName(Activation activation) {
  switch (activation) {
#define FANIN_X(tag, keras_name, ...) \
  case Activation::tag:               \
    return keras_name;
    FANIN_ACTIVATIONS(FANIN_X)
#undef FANIN_X
  }
  return "?";
}

}  // namespace fanin
