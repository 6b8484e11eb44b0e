// Instrumentation hooks: code that observes a model's tensors during training.
#pragma once

#include <cstdint>

namespace fanin {

class Sequential;

struct StepContext {
  int64_t step = 0;   // optimizer steps taken before this one (0 at initialization)
  int epoch = 0;      // 0-based; -1 for a pass outside Fit (Sequential::ComputeGradients)
  int64_t batch = 0;  // batch index within the epoch
};

class Hook {
 public:
  virtual ~Hook() = default;
  // Whether this hook observes `step`. When no hook wants a step, that step does no
  // extra work at all.
  virtual bool Wants(int64_t step) const = 0;
  // Called after the backward pass of a wanted step and before the optimizer update, so
  // each layer's z, activations and kernel are those its gradients were computed from
  // (Sequential::layer(i).tensors()).
  virtual void OnStep(const StepContext& context, const Sequential& model) = 0;
};

}  // namespace fanin
