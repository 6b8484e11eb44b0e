#include <memory>
#include <string>
#include <vector>

#include "fanin/layer.h"
#include "src/layer_factories.h"
#include "src/registry.h"

namespace fanin {
// The built-ins; a user's layer is added by RegisterLayer.
const bool kBuiltins =
    internal::Registry<LayerFactory>::Add("dense", internal::MakeDense) &&
    internal::Registry<LayerFactory>::Add("activation", internal::MakeActivationLayer) &&
    internal::Registry<LayerFactory>::Add("dropout", internal::MakeDropout) &&
    internal::Registry<LayerFactory>::Add("batch_normalization",
                                          internal::MakeBatchNormalization) &&
    internal::Registry<LayerFactory>::Add("normalization", internal::MakeNormalization);

void RegisterLayer(const std::string& type, LayerFactory factory) {
  internal::RegisterFactory<Layer>("layer", type, std::move(factory));
}
std::unique_ptr<Layer> MakeLayer(const Config& config) {
  (void)kBuiltins;
  return internal::MakeRegistered<Layer>("layer", config);
}
std::vector<std::string> LayerTypes() { return internal::Registry<LayerFactory>::Names(); }

}  // namespace fanin
