#include "fanin/optimizers.h"

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

namespace fanin {
namespace {

[[noreturn]] void Reject(const char* optimizer, const char* field, float value, const char* range) {
  std::ostringstream message;
  message << optimizer << ": " << field << " is " << value << "; it must be " << range;
  throw std::invalid_argument(message.str());
}

// [0, 1): a factor of 1 or more makes the moving averages grow without bound.
void CheckDecay(const char* optimizer, const char* field, float value) {
  if (!(value >= 0.0f && value < 1.0f)) Reject(optimizer, field, value, "in [0, 1)");
}

void CheckNonNegative(const char* optimizer, const char* field, float value) {
  if (!(std::isfinite(value) && value >= 0.0f)) {
    Reject(optimizer, field, value, "finite and >= 0");
  }
}

}  // namespace

void ValidateOptimizer(const Optimizer& optimizer) {
  if (const Sgd* sgd = std::get_if<Sgd>(&optimizer)) {
    CheckNonNegative("Sgd", "learning_rate", sgd->learning_rate);
    CheckDecay("Sgd", "momentum", sgd->momentum);
    CheckNonNegative("Sgd", "penalty.l2", sgd->penalty.l2);
    return;
  }
  const Adam& adam = std::get<Adam>(optimizer);
  CheckNonNegative("Adam", "learning_rate", adam.learning_rate);
  CheckDecay("Adam", "beta1", adam.beta1);
  CheckDecay("Adam", "beta2", adam.beta2);
  if (!(std::isfinite(adam.epsilon) && adam.epsilon > 0.0f)) {
    Reject("Adam", "epsilon", adam.epsilon, "finite and > 0");
  }
  CheckNonNegative("Adam", "penalty.l2", adam.penalty.l2);
}

}  // namespace fanin
