// What statistics hooks report: per-layer statistics of a model's tensors at one step.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fanin/ops.h"

namespace fanin {

// Where a step is (optimizer steps, epoch, batch).
struct StepContext {
  int64_t step = 0;   // optimizer steps taken before this one (0 at initialization)
  int epoch = 0;      // 0-based; -1 for a pass outside Fit (Sequential::ComputeGradients)
  int64_t batch = 0;  // batch index within the epoch
};

// Which steps a hook observes: step 0 and then every `every`-th optimizer step (every == 0:
// step 0 only, the model at initialization); or, with every_epochs = k > 0, the first step
// of epochs 0, k, 2k, ... of Fit (what the weights are after k epochs), and no pass outside
// Fit.
struct StepSchedule {
  int64_t every = 1;
  int64_t every_epochs = 0;

  static StepSchedule EveryStep() { return {1}; }
  static StepSchedule Every(int64_t k) { return {k}; }
  static StepSchedule EveryEpochs(int64_t k) { return {0, k}; }
  static StepSchedule InitializationOnly() { return {0}; }
  bool Contains(const StepContext& context) const;
};

// One tensor's statistics, under its name in the layer's LayerTensors ("z", "kernel_grad",
// "gamma", ...).
struct NamedStats {
  std::string name;
  TensorStats stats;
};

// One layer's statistics at one step.
struct LayerStats {
  std::string name;
  // Every z, activation, parameter and gradient tensor the layer lists (layer.h), in its
  // order; the input and the state are left out.
  std::vector<NamedStats> tensors;
  // std(kernel gradient) / std(kernel): how far one SGD step moves the kernel relative to
  // its own scale, per unit of learning rate. NaN for a layer without a kernel.
  double grad_ratio = std::numeric_limits<double>::quiet_NaN();
  // Fused statistics only (they see the update): the update the optimizer applied to the
  // kernel (new - old), and ||update|| / ||kernel||, NaN where there is none (exact mode, a
  // pass without an update, a layer without a kernel).
  std::optional<TensorStats> kernel_update;
  double update_ratio = std::numeric_limits<double>::quiet_NaN();

  // The statistics of the tensor called `name`, or null where the layer has none.
  const TensorStats* operator[](std::string_view name) const {
    for (const NamedStats& t : tensors) {
      if (t.name == name) return &t.stats;
    }
    return nullptr;
  }
};

struct StepStats {
  StepContext context;
  std::vector<LayerStats> layers;  // one per layer of the model, in order
};

}  // namespace fanin
