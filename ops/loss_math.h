// The formulas the loss ops share between their CPU loops and CUDA kernels (ops/bce,
// ops/softmax_ce), written once.
#pragma once

#include <math.h>  // expf: the same name on the host and in device code

#include "ops/host_device.h"

namespace fanin::ops::internal {

// Keras's label smoothing over c classes: y (1 - s) + s / c. With s = 0 it returns y itself
// (y * 1 + 0 is exact), so unsmoothed losses keep their bits.
struct SmoothedLabel {
  float keep, add;
  FANIN_HD SmoothedLabel(float smoothing, float classes)
      : keep(1.0f - smoothing), add(smoothing / classes) {}
  FANIN_HD float operator()(float y) const { return y * keep + add; }
};

// sigmoid(z) without overflow for any z.
FANIN_HD float StableSigmoid(float z) {
  if (z >= 0.0f) return 1.0f / (1.0f + expf(-z));
  const float e = expf(z);
  return e / (1.0f + e);
}

}  // namespace fanin::ops::internal
