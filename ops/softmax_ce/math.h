// One sample of the softmax cross-entropy, shared by the CPU loop and the CUDA kernel so that
// the formula is written once. With m = max_j z_j and s = sum_j exp(z_j - m):
//   softmax_j = exp(z_j - m) / s,   -log softmax_j = (m - z_j) + log s  (>= 0, no overflow),
//   loss = sum_j y_j (-log softmax_j),   dloss/dz_j = (sum_i y_i) softmax_j - y_j,
// y the labels after smoothing. A NaN logit makes s, and so the loss and every gradient of the
// sample, NaN; an index label that is not a class makes them NaN explicitly.
#pragma once

#include <math.h>  // expf, logf, floorf: the same names on the host and in device code

#include <cstdint>

#include "fanin/ops.h"
#include "ops/host_device.h"
#include "ops/loss_math.h"

namespace fanin::ops::internal {

struct SampleLoss {
  float loss;
  bool correct;
};

// z: the sample's k logits; y: its k labels, or its class index (ClassLabels::kIndex); g: its
// k gradients times grad_scale, or null.
template <ClassLabels kLabels>
FANIN_HD SampleLoss SoftmaxCrossEntropySample(const float* z, const float* y, int64_t k,
                                              SmoothedLabel smooth, float grad_scale, float* g) {
  float m = -INFINITY;
  int64_t predicted = 0;
  bool any_nan = false;
  for (int64_t j = 0; j < k; ++j) {
    any_nan |= z[j] != z[j];
    if (z[j] > m) {  // the first largest, as numpy's argmax
      m = z[j];
      predicted = j;
    }
  }
  int64_t target = 0;
  bool valid = true;
  if constexpr (kLabels == ClassLabels::kIndex) {
    valid = y[0] >= 0.0f && y[0] < static_cast<float>(k) && floorf(y[0]) == y[0];
    target = valid ? static_cast<int64_t>(y[0]) : 0;
  } else {
    for (int64_t j = 1; j < k; ++j) {
      if (y[j] > y[target]) target = j;
    }
  }
  auto label = [&](int64_t j) {
    if constexpr (kLabels == ClassLabels::kIndex) {
      return smooth(j == target ? 1.0f : 0.0f);
    } else {
      return smooth(y[j]);
    }
  };
  // The exponentials go to g when there is one, so the gradient does not compute them again.
  float s = 0.0f;
  for (int64_t j = 0; j < k; ++j) {
    const float e = expf(z[j] - m);
    s += e;
    if (g != nullptr) g[j] = e;
  }
  const float log_s = logf(s);
  float loss = 0.0f, label_sum = 0.0f;
  for (int64_t j = 0; j < k; ++j) {
    const float yj = label(j);
    loss += yj * ((m - z[j]) + log_s);
    label_sum += yj;
  }
  if (!valid) loss = NAN;
  if (g != nullptr) {
    const float inv_s = 1.0f / s;
    for (int64_t j = 0; j < k; ++j) {
      const float gj = (label_sum * (g[j] * inv_s) - label(j)) * grad_scale;
      g[j] = valid ? gj : NAN;
    }
  }
  return {loss, valid && !any_nan && predicted == target};
}

// The sample's softmax in place, as the loss computes it.
FANIN_HD void SoftmaxSample(float* z, int64_t k) {
  float m = -INFINITY;
  for (int64_t j = 0; j < k; ++j) m = z[j] > m ? z[j] : m;
  float s = 0.0f;
  for (int64_t j = 0; j < k; ++j) s += expf(z[j] - m);
  const float inv_s = 1.0f / s;
  for (int64_t j = 0; j < k; ++j) z[j] = expf(z[j] - m) * inv_s;
}

}  // namespace fanin::ops::internal
