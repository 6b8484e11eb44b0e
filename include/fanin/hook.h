// Instrumentation hooks: code that observes a model's tensors during training.
#pragma once

#include <cstdint>
#include <optional>

#include "fanin/step_stats.h"

namespace fanin {

class Sequential;

// What a hook asks the step to compute in its own passes (Hook::fused_stats).
struct FusedStatsOptions {
  // The steps that also count kLog2Bins log2-magnitude bins per tensor (fanin/ops.h);
  // nullopt: none.
  std::optional<StepSchedule> log2_histograms = StepSchedule::EveryStep();
};

class Hook {
 public:
  virtual ~Hook() = default;
  // Whether this hook observes the step at `context`. When no hook wants a step, that step
  // does no extra work at all.
  virtual bool Wants(const StepContext& context) const = 0;
  // Called after the backward pass of a wanted step and before the optimizer update, so
  // each layer's z, activations and kernel are those its gradients were computed from
  // (Sequential::layer(i).tensors()).
  virtual void OnStep(const StepContext& context, const Sequential& model) = 0;

  // A hook that returns options here observes through the step's own passes instead: on the
  // steps it Wants, each pass that writes a tensor also summarizes it (the forward activation
  // z and a, the optimizer the parameters, gradients and updates), and OnStepStats gets the
  // results once the update is done, after one wait for the device; OnStep is not called.
  virtual std::optional<FusedStatsOptions> fused_stats() const { return std::nullopt; }
  virtual void OnStepStats(const StepStats& stats) { (void)stats; }
};

}  // namespace fanin
