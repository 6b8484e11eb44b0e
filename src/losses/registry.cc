#include "src/registry.h"

#include <sstream>
#include <stdexcept>

#include "fanin/loss.h"
#include "src/losses/builtin.h"

namespace fanin {
// The built-ins; a user's loss is added by RegisterLoss.
const bool kBuiltins =
    internal::Registry<LossFactory>::Add("binary_crossentropy", internal::MakeBinaryCrossEntropy) &&
    internal::Registry<LossFactory>::Add("categorical_crossentropy",
                                         internal::MakeCategoricalCrossEntropy) &&
    internal::Registry<LossFactory>::Add("sparse_categorical_crossentropy",
                                         internal::MakeCategoricalCrossEntropy) &&
    internal::Registry<LossFactory>::Add("mean_squared_error", internal::MakeRegressionError) &&
    internal::Registry<LossFactory>::Add("mean_absolute_error", internal::MakeRegressionError);

void RegisterLoss(const std::string& type, LossFactory factory) {
  internal::RegisterFactory<Loss>("loss", type, std::move(factory));
}
std::vector<std::string> LossTypes() { return internal::Registry<LossFactory>::Names(); }
std::unique_ptr<Loss> MakeLoss(const Config& config) {
  (void)kBuiltins;
  return internal::MakeRegistered<Loss>("loss", config);
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
