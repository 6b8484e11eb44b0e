// The NaN rule of docs/design.md ("NaN in, NaN out") as one case that every backend runs:
// tests/backend_test.cc on the CPU, tests/cuda/ops_test.cc on the GPU (own kernels and
// cuDNN). A NaN that an op turned into a number would hide the first sign of a diverging
// run from the statistics that are meant to show it.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "fanin/fanin.h"
#include "ops/activation/math.h"
#include "test_util.h"

namespace fanin::testing {

inline void ExpectNanExactlyAt(const std::vector<float>& values, const std::vector<bool>& nan_at,
                               const std::string& what) {
  ASSERT_EQ(values.size(), nan_at.size()) << what;
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(std::isnan(values[i]), static_cast<bool>(nan_at[i]))
        << what << " [" << i << "] = " << values[i];
  }
}

// Rows of 3 columns; NaN in z at (0, 0) and in da at (1, 2); z also holds -0, 0, negative
// and positive values, so relu's zero branch meets the NaN of da.
inline void ExpectNanInNanOut(const std::shared_ptr<Backend>& backend) {
  constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
  const int64_t rows = 3, cols = 3;
  const std::vector<float> z0 = {kNaN, -1.0f, 2.0f, -0.0f, 0.5f, -3.0f, 0.0f, 4.0f, -2.0f};
  const std::vector<float> da0 = {1.0f, 1.0f, 1.0f, 1.0f, 1.0f, kNaN, 1.0f, 1.0f, 1.0f};
  const std::vector<bool> z_nan = {true, false, false, false, false, false, false, false, false};
  std::vector<bool> dz_nan = z_nan;
  dz_nan[5] = true;
  const std::vector<bool> bias_grad_nan = {true, false, true};
  const std::vector<bool> none(rows * cols, false);
  for (const Activation act : kActivations) {
    SCOPED_TRACE(std::string(ActivationName(act)) + " on " + backend->Describe());
    Tensor z = MakeTensor(backend, {rows, cols}, z0);
    Tensor a(backend, {rows, cols});
    const Tensor zero_bias = MakeTensor(backend, {cols}, {0.0f, 0.0f, 0.0f});
    ops::BiasActivationForward(act, zero_bias, z, a);
    ExpectNanExactlyAt(a.ToHost(), z_nan, "BiasActivationForward a");
    Tensor a2(backend, {rows, cols});
    ops::ActivationForward(act, z, a2);
    ExpectNanExactlyAt(a2.ToHost(), z_nan, "ActivationForward a");
    const Tensor da = MakeTensor(backend, {rows, cols}, da0);
    Tensor dz(backend, {rows, cols}), bias_grad(backend, {cols});
    ops::ActivationBackward(act, z, a, da, dz, &bias_grad);
    // A derivative that reads neither z nor a (linear's) lets only da's NaN reach dz.
    std::vector<bool> expected_dz = dz_nan;
    std::vector<bool> expected_bias_grad = bias_grad_nan;
    if (DerivativeReadsOf(act) == DerivativeReads::kNothing) {
      expected_dz[0] = false;
      expected_bias_grad[0] = false;
    }
    ExpectNanExactlyAt(dz.ToHost(), expected_dz, "ActivationBackward dz");
    ExpectNanExactlyAt(bias_grad.ToHost(), expected_bias_grad, "ActivationBackward bias_grad");
  }
  // The loss: a NaN output gives a NaN loss sum and a NaN gradient there, and is not correct.
  for (const BceInput input : {BceInput::kLogits, BceInput::kProbabilities}) {
    SCOPED_TRACE(std::string(input == BceInput::kLogits ? "BCE from logits" : "BCE from p") +
                 " on " + backend->Describe());
    const bool logits = input == BceInput::kLogits;
    // Outputs that would be correct for label 0 if NaN compared as "not above the threshold".
    const Tensor output =
        MakeTensor(backend, {4, 1}, {kNaN, logits ? -2.0f : 0.1f, kNaN, logits ? 3.0f : 0.9f});
    const Tensor labels = MakeTensor(backend, {4, 1}, {0.0f, 0.0f, 1.0f, 1.0f});
    Tensor grad(backend, {4, 1});
    Tensor totals(backend, {2});
    ops::BinaryCrossEntropy(input, output, labels, 0.25f, &grad, totals, 0);
    const std::vector<float> t = totals.ToHost();
    EXPECT_TRUE(std::isnan(t[0])) << "loss sum " << t[0];
    EXPECT_EQ(t[1], 2.0f) << "correct count";
    ExpectNanExactlyAt(grad.ToHost(), {true, false, true, false}, "grad");
  }
}

}  // namespace fanin::testing
