// Checks of a whole model that several layer and loss tests share: its gradients against
// central differences of its own loss, and an exact resume from a checkpoint.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fanin/checkpoint.h"
#include "fanin/fanin.h"
#include "tests/test_util.h"

namespace fanin::testing {

// Central differences (L(p + h) - L(p - h)) / 2h of the mean loss that ComputeGradients
// returns, in float, for about `per_tensor` parameters of each parameter tensor, against the
// gradient ComputeGradients gives: |numerical - g| <= rtol |g| + atol. The float loss errs by
// ~u |L| / h in the differences, so h = 1e-3 wants atol of a few 1e-4. Returns the count
// checked. ComputeGradients runs at a fixed step, so Dropout's mask stays put.
inline int ExpectGradientsMatchDifferences(Sequential& m, const Dataset& data, float h, double rtol,
                                           double atol, int64_t per_tensor) {
  m.ComputeGradients(data.x, data.y);
  const std::vector<float> g = m.gradients().ToHost();
  const std::vector<float> p0 = m.parameters().ToHost();
  const auto loss_at = [&](size_t k, float v) {
    std::vector<float> p = p0;
    p[k] = v;
    Tensor params = m.parameters();
    Tensor::FromHost(HostBackend(), params.shape(), p).CopyTo(params);
    return m.ComputeGradients(data.x, data.y);
  };
  int checked = 0;
  for (const ParameterExtent& e : m.parameter_extents()) {
    for (int64_t j = 0; j < e.size; j += std::max<int64_t>(1, e.size / per_tensor)) {
      const auto k = static_cast<size_t>(e.offset + j);
      const double numerical = (loss_at(k, p0[k] + h) - loss_at(k, p0[k] - h)) / (2.0 * h);
      EXPECT_NEAR(numerical, g[k], rtol * std::fabs(g[k]) + atol) << "parameter " << k;
      ++checked;
    }
  }
  return checked;
}

// Trains build() 4 epochs straight through, and another build() 2 epochs, saved to a
// checkpoint, loaded on `load_on`, (after_load(first, resumed) run) and trained from epoch 2 to
// 4: the two must end with the same parameters, bit for bit. Returns the resumed model.
inline Sequential ExpectResumesExactly(
    const std::function<Sequential()>& build, const Dataset& data, std::shared_ptr<Backend> load_on,
    const std::function<void(Sequential&, Sequential&)>& after_load = {}) {
  Sequential straight = build(), first = build();
  straight.Fit(data.x, data.y, {.epochs = 4, .batch_size = 16});
  first.Fit(data.x, data.y, {.epochs = 2, .batch_size = 16});
  const auto dir = FreshTestDirectory("fanin-resume");
  const std::string path = (dir / "model.safetensors").string();
  SaveCheckpoint(first, path);
  Sequential resumed = LoadCheckpoint(path, std::move(load_on));
  std::filesystem::remove_all(dir);
  if (after_load) after_load(first, resumed);
  resumed.Fit(data.x, data.y,
              {.epochs = 4, .initial_epoch = resumed.epochs_completed(), .batch_size = 16});
  EXPECT_EQ(resumed.parameters().ToHost(), straight.parameters().ToHost());
  for (size_t i = 0; i < straight.num_layers(); ++i) {
    const auto a = resumed.layer(i).state(), b = straight.layer(i).state();
    for (size_t k = 0; k < a.size(); ++k) {
      EXPECT_EQ(a[k].second.ToHost(), b[k].second.ToHost()) << "layer " << i << " " << a[k].first;
    }
  }
  return resumed;
}

}  // namespace fanin::testing
