// Per-layer statistics of a model's tensors during training, and callbacks on them.
//
//   auto stats = std::make_shared<fanin::StatsHook>(fanin::StatsHookOptions{
//       .schedule = fanin::StepSchedule::InitializationOnly(),
//       .layer_names = {"h1", "h2", "out"}});
//   model.AddHook(stats);
//   model.ComputeGradients(data.x, data.y);  // one forward + backward pass, no update
//   double ratio = stats->steps()[0].layers[0].grad_ratio;  // std(dL/dW) / std(W) of h1
//
// For each recorded step, StatsHook summarizes every tensor a layer lists in its
// LayerTensors except the input and the state: z (pre-activation), activation, parameters
// (Dense's kernel and bias, BatchNormalization's gamma and beta) and their gradients.
// StatsMode::kExact (the default) reads them again with one ops::Stats call after the backward
// pass; StatsMode::kFused has the step's own passes summarize them as they write them, cheap enough
// for every step:
//
//   auto every_step = std::make_shared<fanin::StatsHook>(fanin::StatsHookOptions{
//       .schedule = fanin::StepSchedule::EveryStep(), .mode = fanin::StatsMode::kFused});
//
// Either way a recorded step waits for the device once.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fanin/backend.h"
#include "fanin/hook.h"
#include "fanin/layer.h"
#include "fanin/ops.h"
#include "fanin/step_stats.h"

namespace fanin {

// Statistics of every layer of `model` as they are now (after a forward and backward pass),
// from one ops::Stats call. `layer_names` names the layers (empty: "layer0",
// "layer1", ...); `histogram_bins` = 0 skips the histograms. Throws std::invalid_argument
// for histogram_bins outside [0, kMaxHistogramBins].
StepStats ComputeStepStats(const Sequential& model, const StepContext& context,
                           const std::vector<std::string>& layer_names, int histogram_bins);

// How StatsHook computes its statistics.
enum class StatsMode {
  // After the backward pass, one ops::Stats call reads every tensor again: two passes for a
  // variance exact to double rounding, and `histogram_bins` linear bins over each tensor's
  // own [min, max], which need its range before the first count (the studies' violin plots).
  kExact,
  // In the passes that write the tensors (the forward activation, the optimizer update), at
  // close to no cost per step (docs/benchmarks.md): counts, min, max, shifted double sums for
  // mean and std, exact zeros, saturated activations, the kernel's update and
  // ||update|| / ||kernel||, and log2-magnitude histograms when `log2_histograms`. The
  // statistics arrive after the update; the gradients are those the optimizer applied (with
  // an L2 penalty's gradient, where there is one).
  kFused,
};

struct StatsHookOptions {
  StepSchedule schedule = StepSchedule::EveryStep();
  StatsMode mode = StatsMode::kExact;
  // kFused only: the recorded steps that also get log2-magnitude histograms (nullopt: none).
  // A histogram costs an increment per value, more than the moments' pass (docs/benchmarks.md),
  // so by default every 10th step, from step 0, has one.
  std::optional<StepSchedule> log2_histograms = StepSchedule::Every(10);
  // kExact only. Equal bins over each tensor's own [min, max]: enough for a violin plot per layer.
  // In [0, kMaxHistogramBins] (0: no histograms); StatsHook's constructor throws
  // std::invalid_argument otherwise.
  int histogram_bins = 64;
  // Names of the model's layers, in order (empty: "layer0", "layer1", ...).
  std::vector<std::string> layer_names;
  // Keep every recorded step in steps(). Turn off for long runs that only stream to a sink.
  bool keep_in_memory = true;
  // Called with each recorded step, e.g. RunWriter::Sink() to write it to HDF5.
  std::function<void(const StepStats&)> sink;
};

class StatsHook : public Hook {
 public:
  explicit StatsHook(StatsHookOptions options = {});

  bool Wants(const StepContext& context) const override;
  void OnStep(const StepContext& context, const Sequential& model) override;
  std::optional<FusedStatsOptions> fused_stats() const override;
  void OnStepStats(const StepStats& stats) override;

  const std::vector<StepStats>& steps() const { return steps_; }
  void Clear() { steps_.clear(); }

 private:
  void Deliver(StepStats step);

  StatsHookOptions options_;
  std::vector<StepStats> steps_;
};

// A user callback on layers' tensors: called at each step of `schedule` with the index and
// tensors of the chosen layer (or of every layer, in order, when `layer` is empty). The
// tensors live on the model's backend; read them with Tensor::ToHost or ops::Stats.
using LayerCallback =
    std::function<void(const StepContext& context, size_t layer, const LayerTensors& tensors)>;

class LayerCallbackHook : public Hook {
 public:
  LayerCallbackHook(StepSchedule schedule, std::optional<size_t> layer, LayerCallback callback);

  bool Wants(const StepContext& context) const override { return schedule_.Contains(context); }
  void OnStep(const StepContext& context, const Sequential& model) override;

 private:
  StepSchedule schedule_;
  std::optional<size_t> layer_;
  LayerCallback callback_;
};

}  // namespace fanin
