#include <algorithm>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "fanin/loss.h"
#include "src/losses/builtin.h"

namespace fanin {
namespace {

struct Registry {
  std::mutex mutex;
  std::map<std::string, LossFactory> factories{
      {"binary_crossentropy", internal::MakeBinaryCrossEntropy},
      {"categorical_crossentropy", internal::MakeCategoricalCrossEntropy},
      {"sparse_categorical_crossentropy", internal::MakeCategoricalCrossEntropy},
      {"mean_squared_error", internal::MakeRegressionError},
      {"mean_absolute_error", internal::MakeRegressionError}};
};

Registry& TheRegistry() {
  static Registry registry;
  return registry;
}

}  // namespace

void RegisterLoss(const std::string& type, LossFactory factory) {
  Registry& r = TheRegistry();
  std::lock_guard lock(r.mutex);
  if (!r.factories.emplace(type, std::move(factory)).second) {
    throw std::invalid_argument("RegisterLoss: \"" + type + "\" is already registered");
  }
}

std::vector<std::string> LossTypes() {
  Registry& r = TheRegistry();
  std::lock_guard lock(r.mutex);
  std::vector<std::string> types;
  for (const auto& [type, factory] : r.factories) types.push_back(type);
  return types;
}

std::unique_ptr<Loss> MakeLoss(const Config& config) {
  LossFactory factory;
  {
    Registry& r = TheRegistry();
    std::lock_guard lock(r.mutex);
    const auto it = r.factories.find(config.type());
    if (it != r.factories.end()) factory = it->second;
  }
  if (!factory) {
    throw std::invalid_argument("unknown loss \"" + config.type() + "\"" +
                                SuggestName(config.type(), LossTypes()));
  }
  return factory(config);
}

namespace internal {

void BadLabel(std::string_view what, std::string_view loss, int64_t index, int64_t columns,
              float value, std::string_view rule) {
  std::ostringstream text;
  text << what << ": y[" << index / columns << ", " << index % columns << "] = " << value << "; "
       << loss << " needs " << rule;
  throw std::invalid_argument(text.str());
}

float LabelSmoothing(const Config& config) {
  const double s = config.GetNumber("label_smoothing", 0.0);
  if (!(s >= 0.0 && s <= 1.0)) {
    throw std::invalid_argument(config.type() + ": label_smoothing " + std::to_string(s) +
                                " is not in [0, 1]");
  }
  return static_cast<float>(s);
}

}  // namespace internal
}  // namespace fanin
