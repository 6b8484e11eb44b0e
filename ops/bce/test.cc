// BinaryCrossEntropy cases (tests/harness/harness.h): from logits and from probabilities, hard
// and soft labels, with and without the gradient, into one slot of a longer totals; the NaN
// rule; and the gradient against finite differences of the reference loss.
//
// Tolerances, u = 2^-24. A sample's loss is a few float operations and libm calls (2 ulp at
// most: CUDA's expf, log1pf, logf) over terms bounded by max(z, 0), |z y| and log1p(e^-|z|)
// (logits) or |y log p| and |(1 - y) log(1 - p)| (probabilities): 8 u of their sum, plus 1 u
// for 1 - y; the double sum over samples adds nothing measurable, its rounding to float u |L|.
// The correct count is exact. The gradient: from logits (sigmoid(z) - y) scale, sigmoid within
// 4 u and two more roundings: 8 u (s + |s - y|) |scale|; from probabilities (p - y) / (p (1 -
// p)) scale, five roundings: 8 u |g|. A wrong formula or side of the clip errs by O(1).
#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "fanin/ops.h"
#include "ops/bce/reference.h"
#include "tests/expect_error.h"
#include "tests/harness/harness.h"
#include "tests/test_util.h"

namespace fanin::harness {
namespace {

using testing::ExpectClose;
using testing::kFloatRoundoff;
using testing::RefBceLogit;
using testing::RefBceProbability;

// Keras's clip of probabilities (fanin/ops.h), in float as the op does it.
float Clip(float p) { return std::clamp(p, 1e-7f, 1.0f - 1e-7f); }

// Hard labels 1 and 0 and a soft one, in turn.
std::vector<float> Labels(int64_t n) {
  std::vector<float> y(n);
  for (int64_t i = 0; i < n; ++i) y[i] = i % 3 == 0 ? 1.0f : (i % 3 == 1 ? 0.0f : 0.3f);
  return y;
}

// Logits over the range where the loss bends, then exp's overflow, 0 (the threshold) and
// large ones; probabilities inside (0, 1), then on and beyond the clip bounds.
std::vector<float> Outputs(Context& c, BceInput input, int64_t n) {
  const bool logits = input == BceInput::kLogits;
  std::vector<float> out = logits ? c.Uniform(n, -8.0f, 8.0f) : c.Uniform(n, 0.001f, 0.999f);
  const std::vector<float> special =
      logits ? std::vector<float>{-100.0f, 100.0f, 0.0f, -20.0f, 20.0f}
             : std::vector<float>{0.0f, 1.0f, 1e-7f, 1e-9f, 0.5f, 1e-12f};
  std::copy_n(special.begin(), std::min<size_t>(special.size(), out.size()), out.begin());
  return out;
}

struct Expected {
  double loss = 0.0, loss_tolerance = 0.0, correct = 0.0;
  std::vector<double> grad, grad_tolerance;
};

// `smoothing`: the labels become y' = y (1 - s) + s / 2, which the op rounds (or contracts
// into one fused multiply-add) to within u |y'|: that adds u |y'| |dL/dy'| to the loss bound
// and u |y'| |dg/dy'| to the gradient's. The correct count compares with the label before.
Expected Reference(BceInput input, const std::vector<float>& out, const std::vector<float>& labels,
                   float scale, float smoothing = 0.0f) {
  Expected e;
  std::vector<float> y(labels.size());
  for (size_t i = 0; i < y.size(); ++i) y[i] = labels[i] * (1.0f - smoothing) + smoothing / 2.0f;
  for (size_t i = 0; i < out.size(); ++i) {
    const bool positive = labels[i] >= 0.5f;
    const double label_error = smoothing > 0 ? kFloatRoundoff * std::fabs(y[i]) : 0.0;
    if (input == BceInput::kLogits) {
      const double z = out[i];
      e.loss += RefBceLogit(z, y[i]);
      e.loss_tolerance +=
          8 * kFloatRoundoff *
              (std::max(z, 0.0) + std::fabs(z * y[i]) + std::log1p(std::exp(-std::fabs(z)))) +
          label_error * std::fabs(z);
      e.correct += (z > 0) == positive;
      const double s = testing::RefSigmoid(z);
      e.grad.push_back((s - y[i]) * scale);
      e.grad_tolerance.push_back((8 * kFloatRoundoff * (s + std::fabs(s - y[i])) + label_error) *
                                 scale);
    } else {
      const double p = Clip(out[i]);
      e.loss += RefBceProbability(p, y[i]);
      e.loss_tolerance +=
          8 * kFloatRoundoff *
              (std::fabs(y[i] * std::log(p)) + std::fabs((1 - y[i]) * std::log(1 - p)) + 1) +
          label_error * std::fabs(std::log(p) - std::log(1 - p));
      e.correct += (out[i] > 0.5f) == positive;
      // The clip has no gradient where it is active.
      const double g = p == out[i] ? (p - y[i]) / (p * (1 - p)) * scale : 0.0;
      e.grad.push_back(g);
      e.grad_tolerance.push_back(8 * kFloatRoundoff * std::fabs(g) +
                                 (p == out[i] ? label_error / (p * (1 - p)) * scale : 0.0));
    }
  }
  e.loss_tolerance += kFloatRoundoff * std::fabs(e.loss);
  return e;
}

const char* InputName(BceInput input) {
  return input == BceInput::kLogits ? "logits" : "probabilities";
}

// totals holds three slots of sentinels; the op writes slot 1 only.
void AddBce(BceInput input, int64_t rows, bool with_grad, float smoothing = 0.0f) {
  OpCase op_case{.name = std::string("bce/") + InputName(input) +
                         (smoothing > 0 ? "/smoothing" : "") + (with_grad ? "/" : "/no_grad/") +
                         RowsName(rows),
                 .family = "bce"};
  op_case.value = [=](Context& c) -> Instance {
    const std::vector<float> out = Outputs(c, input, rows), y = Labels(rows);
    const float scale = 1.0f / static_cast<float>(std::max<int64_t>(rows, 1));
    const Tensor output = c.Make({rows, 1}, out), labels = c.Make({rows, 1}, y);
    Tensor grad(c.backend(), {rows, 1});
    Tensor totals = c.Make({6}, std::vector<float>(6, -1.0f));
    return {.op =
                [=]() mutable {
                  ops::BinaryCrossEntropy(input, smoothing, output, labels, scale,
                                          with_grad ? &grad : nullptr, totals, 1);
                },
            .check =
                [=] {
                  const Expected e = Reference(input, out, y, scale, smoothing);
                  const std::vector<float> t = totals.ToHost();
                  ExpectClose(
                      std::vector<double>{e.loss}, {t[2]}, [&](size_t) { return e.loss_tolerance; },
                      "loss sum");
                  EXPECT_EQ(t[3], e.correct) << "correct count";
                  for (int i : {0, 1, 4, 5})
                    EXPECT_EQ(t[i], -1.0f) << "totals[" << i << "] written";
                  if (with_grad) {
                    ExpectClose(
                        e.grad, grad.ToHost(), [&](size_t i) { return e.grad_tolerance[i]; },
                        "grad");
                  }
                }};
  };
  // The gradient against central differences of the reference loss, sample by sample, with
  // outputs inside the clip bounds (where the loss has a derivative): the differences are
  // exact to ~1e-9 (harness.h), below the tolerances above.
  if (with_grad) {
    op_case.gradient = [=](Context& c) {
      const bool logits = input == BceInput::kLogits;
      const std::vector<float> out =
          logits ? c.Uniform(rows, -8.0f, 8.0f) : c.Uniform(rows, 0.05f, 0.95f);
      const std::vector<float> y = Labels(rows);
      const float scale = 0.5f;
      Tensor grad(c.backend(), {rows, 1}), totals(c.backend(), {2});
      ops::BinaryCrossEntropy(input, smoothing, c.Make({rows, 1}, out), c.Make({rows, 1}, y), scale,
                              &grad, totals, 0);
      const Expected e = Reference(input, out, y, scale, smoothing);
      std::vector<double> numerical(rows);
      for (int64_t i = 0; i < rows; ++i) {
        const double yi = y[i] * (1.0f - smoothing) + smoothing / 2.0f;
        numerical[i] = scale * CentralDifference(
                                   [&](double v) {
                                     return logits ? RefBceLogit(v, yi) : RefBceProbability(v, yi);
                                   },
                                   out[i]);
      }
      ExpectClose(
          numerical, grad.ToHost(), [&](size_t i) { return e.grad_tolerance[i]; }, "dL/doutput");
    };
  }
  Register(std::move(op_case));
}

// The stable form is finite and exact for any float logit: the wrong side costs |z|, the right
// side nothing, and the gradient is exactly -1, 0 or 1 times the scale. z = 0 predicts class 0
// ("above 0" is class 1) and costs log 2.
void AddExtremeLogits() {
  struct Sample {
    float z, y;
    double loss, grad;
  };
  const std::vector<Sample> samples = {{1e4f, 0, 1e4, 1},
                                       {1e4f, 1, 0, 0},
                                       {-1e4f, 1, 1e4, -1},
                                       {-1e4f, 0, 0, 0},
                                       {1e30f, 0, 1e30, 1},
                                       {-1e30f, 0, 0, 0},
                                       {-1e30f, 1, 1e30, -1},
                                       {1e4f, 0.25f, 7500, 0.75},
                                       {0.0f, 0, std::log(2.0), 0.5},
                                       {0.0f, 1, std::log(2.0), -0.5}};
  Register({.name = "bce/logits/extremes", .family = "bce", .value = [=](Context& c) -> Instance {
              std::vector<float> z, y;
              for (const Sample& s : samples) {
                z.push_back(s.z);
                y.push_back(s.y);
              }
              const auto n = static_cast<int64_t>(samples.size());
              const Tensor output = c.Make({n, 1}, z), labels = c.Make({n, 1}, y);
              Tensor grad(c.backend(), {n, 1}), totals(c.backend(), {2});
              return {.op =
                          [=]() mutable {
                            ops::BinaryCrossEntropy(BceInput::kLogits, 0.0f, output, labels, 0.5f,
                                                    &grad, totals, 0);
                          },
                      .check =
                          [=] {
                            double loss = 0.0;
                            std::vector<double> expected_grad;
                            for (const Sample& s : samples) {
                              loss += s.loss;
                              expected_grad.push_back(s.grad * 0.5);
                            }
                            const std::vector<float> t = totals.ToHost();
                            EXPECT_NEAR(t[0], loss, 1e-6 * loss) << "loss sum";
                            EXPECT_EQ(t[1], 4.0f) << "correct: the right sides and z = 0 for y = 0";
                            testing::ExpectBitIdentical(expected_grad, grad.ToHost(), "grad");
                          }};
            }});
}

// docs/design.md's NaN rule for the loss: a NaN output gives a NaN loss sum and a NaN gradient
// there, and is never correct (outputs that would count as correct for label 0 if NaN compared
// as "not above the threshold").
void AddNanRule(BceInput input) {
  Register({.name = std::string("bce/") + InputName(input) + "/nan_rule",
            .family = "bce",
            .value = [=](Context& c) -> Instance {
              constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
              const bool logits = input == BceInput::kLogits;
              const Tensor output =
                  c.Make({4, 1}, {kNaN, logits ? -2.0f : 0.1f, kNaN, logits ? 3.0f : 0.9f});
              const Tensor labels = c.Make({4, 1}, {0.0f, 0.0f, 1.0f, 1.0f});
              Tensor grad(c.backend(), {4, 1}), totals(c.backend(), {2});
              return {.op =
                          [=]() mutable {
                            ops::BinaryCrossEntropy(input, 0.0f, output, labels, 0.25f, &grad,
                                                    totals, 0);
                          },
                      .check =
                          [=] {
                            const std::vector<float> t = totals.ToHost(), g = grad.ToHost();
                            EXPECT_TRUE(std::isnan(t[0])) << "loss sum " << t[0];
                            EXPECT_EQ(t[1], 2.0f) << "correct count";
                            for (size_t i = 0; i < g.size(); ++i) {
                              EXPECT_EQ(std::isnan(g[i]), i % 2 == 0)
                                  << "grad[" << i << "] = " << g[i];
                            }
                          }};
            },
            .timed = false});
}

void AddValidation() {
  Register({.name = "bce.validation", .family = "bce", .validation = [](Context& c) {
              using testing::ExpectThrowsWith;
              const Tensor output(c.backend(), {4, 1}), labels(c.backend(), {3, 1});
              Tensor grad(c.backend(), {4, 1}), totals(c.backend(), {2});
              ExpectThrowsWith<std::invalid_argument>(
                  [&] {
                    ops::BinaryCrossEntropy(BceInput::kLogits, 0.0f, output, labels, 1.0f, &grad,
                                            totals, 0);
                  },
                  {"BinaryCrossEntropy", "output [4 x 1]", "labels [3 x 1]"});
              ExpectThrowsWith<std::out_of_range>(
                  [&] {
                    ops::BinaryCrossEntropy(BceInput::kLogits, 0.0f, output, output, 1.0f, &grad,
                                            totals, 1);
                  },
                  {"BinaryCrossEntropy", "slot 1", "[2]"});
            }});
}

const Registrar kCases([] {
  for (const BceInput input : {BceInput::kLogits, BceInput::kProbabilities}) {
    for (const int64_t rows : kRows) {
      AddBce(input, rows, /*with_grad=*/true);
      AddBce(input, rows, /*with_grad=*/false);
      AddBce(input, rows, /*with_grad=*/true, /*smoothing=*/0.2f);
    }
    AddNanRule(input);
  }
  AddExtremeLogits();
  AddValidation();
});

}  // namespace
}  // namespace fanin::harness
