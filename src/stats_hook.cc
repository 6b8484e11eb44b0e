#include "fanin/stats_hook.h"

#include <stdexcept>
#include <utility>

#include "fanin/model.h"
#include "fanin/ops.h"

namespace fanin {
namespace {

// `where` names the entry point, so the message says which option to fix.
void CheckHistogramBins(const char* where, int bins) {
  if (bins < 0 || bins > kMaxHistogramBins) {
    throw std::invalid_argument(std::string(where) + ": histogram_bins must be in [0, " +
                                std::to_string(kMaxHistogramBins) + "] (0: no histograms), got " +
                                std::to_string(bins));
  }
}

}  // namespace

bool StepSchedule::Contains(const StepContext& context) const {
  if (every_epochs > 0) {
    return context.epoch >= 0 && context.batch == 0 && context.epoch % every_epochs == 0;
  }
  if (every <= 0) return context.step == 0;
  return context.step % every == 0;
}

StepStats ComputeStepStats(const Sequential& model, const StepContext& context,
                           const std::vector<std::string>& layer_names, int histogram_bins) {
  CheckHistogramBins("ComputeStepStats", histogram_bins);
  const size_t num_layers = model.num_layers();
  if (!layer_names.empty() && layer_names.size() != num_layers) {
    throw std::invalid_argument("ComputeStepStats: " + std::to_string(layer_names.size()) +
                                " layer names for a model of " + std::to_string(num_layers) +
                                " layers");
  }
  StepStats step;
  step.context = context;
  step.layers.resize(num_layers);

  // Gather every tensor of every layer first, so the backend reduces them all in one call
  // (one device round trip per step, not one per tensor).
  std::vector<const Tensor*> tensors;
  std::vector<std::pair<size_t, std::string>> owners;
  for (size_t i = 0; i < num_layers; ++i) {
    step.layers[i].name = layer_names.empty() ? "layer" + std::to_string(i) : layer_names[i];
    for (const NamedTensor& t : model.layer(i).tensors().list) {
      if (t.role == TensorRole::kInput || t.role == TensorRole::kState) continue;
      if (t.tensor == nullptr || !t.tensor->defined() || t.tensor->size() == 0) continue;
      tensors.push_back(t.tensor);
      owners.emplace_back(i, t.name);
    }
  }
  if (tensors.empty()) return step;

  const HistogramSpec spec{.bins = histogram_bins, .auto_range = true};
  std::vector<TensorStats> stats = ops::Stats(tensors, spec);
  for (size_t k = 0; k < stats.size(); ++k) {
    auto& [layer, name] = owners[k];
    step.layers[layer].tensors.push_back({std::move(name), std::move(stats[k])});
  }
  for (LayerStats& layer : step.layers) {
    const TensorStats* kernel = layer["kernel"];
    const TensorStats* grad = layer["kernel_grad"];
    if (kernel && grad) layer.grad_ratio = grad->std / kernel->std;
  }
  return step;
}

StatsHook::StatsHook(StatsHookOptions options) : options_(std::move(options)) {
  CheckHistogramBins("StatsHook", options_.histogram_bins);
}

bool StatsHook::Wants(const StepContext& context) const {
  return options_.schedule.Contains(context);
}

void StatsHook::OnStep(const StepContext& context, const Sequential& model) {
  Deliver(ComputeStepStats(model, context, options_.layer_names, options_.histogram_bins));
}

std::optional<FusedStatsOptions> StatsHook::fused_stats() const {
  if (options_.mode != StatsMode::kFused) return std::nullopt;
  return FusedStatsOptions{.log2_histograms = options_.log2_histograms};
}

void StatsHook::OnStepStats(const StepStats& stats) {
  StepStats step = stats;
  const std::vector<std::string>& names = options_.layer_names;
  if (!names.empty()) {
    if (names.size() != step.layers.size()) {
      throw std::invalid_argument("StatsHook: " + std::to_string(names.size()) +
                                  " layer names for a model of " +
                                  std::to_string(step.layers.size()) + " layers");
    }
    for (size_t i = 0; i < names.size(); ++i) step.layers[i].name = names[i];
  }
  Deliver(std::move(step));
}

void StatsHook::Deliver(StepStats step) {
  if (options_.sink) options_.sink(step);
  if (options_.keep_in_memory) steps_.push_back(std::move(step));
}

LayerCallbackHook::LayerCallbackHook(StepSchedule schedule, std::optional<size_t> layer,
                                     LayerCallback callback)
    : schedule_(schedule), layer_(layer), callback_(std::move(callback)) {
  if (!callback_) throw std::invalid_argument("LayerCallbackHook: empty callback");
}

void LayerCallbackHook::OnStep(const StepContext& context, const Sequential& model) {
  if (layer_) {
    if (*layer_ >= model.num_layers()) {
      throw std::out_of_range("LayerCallbackHook: layer " + std::to_string(*layer_) +
                              " of a model with " + std::to_string(model.num_layers()) + " layers");
    }
    callback_(context, *layer_, model.layer(*layer_).tensors());
    return;
  }
  for (size_t i = 0; i < model.num_layers(); ++i) callback_(context, i, model.layer(i).tensors());
}

}  // namespace fanin
