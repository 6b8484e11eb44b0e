// SoftmaxCrossEntropy and Softmax cases (tests/harness/harness.h): one-hot, soft and index
// labels, with and without label smoothing and the gradient, for 2, 3 and 10 classes, into one
// slot of a longer totals; logits of +-1e4; the NaN and bad-index rules; the gradient against
// finite differences of the reference loss; the argument errors.
//
// Tolerances, u = 2^-24. Per sample the op sums k exponentials in float (each within 2 ulp,
// the sum within k u of s) and adds k terms y_j ((m - z_j) + log s), each within a few
// roundings of itself, in float: (k + 8) u sum_j |y_j| (|m - z_j| + log s + 1) covers the
// loss; the correct count is exact. p_j = exp(z_j - m) / s: z_j - m rounds by u |m - z_j|,
// which exp turns into that relative error, so p_j is within (k + 4 + |m - z_j|) u of itself,
// and the gradient (sum y) p_j - y_j within (k + 8) u (sum y) p_j (1 + |m - z_j|) + (k + 8) u
// y_j, times |scale|. A wrong formula errs by O(1).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "fanin/ops.h"
#include "ops/softmax_ce/reference.h"
#include "tests/expect_error.h"
#include "tests/harness/harness.h"
#include "tests/test_util.h"

namespace fanin::harness {
namespace {

using testing::ExpectClose;
using testing::kFloatRoundoff;

const char* LabelsName(ClassLabels kind, bool soft) {
  return kind == ClassLabels::kIndex ? "index" : (soft ? "soft" : "one_hot");
}

// Labels of sample i: class (i * 7 + 3) mod k; soft rows spread 0.6 / 0.4 over two classes.
std::vector<float> Labels(ClassLabels kind, bool soft, int64_t rows, int64_t k) {
  const int64_t cols = kind == ClassLabels::kIndex ? 1 : k;
  std::vector<float> y(static_cast<size_t>(rows * cols), 0.0f);
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t c = (i * 7 + 3) % k;
    if (kind == ClassLabels::kIndex) {
      y[i] = static_cast<float>(c);
    } else if (soft) {
      y[i * k + c] = 0.6f;
      y[i * k + (c + 1) % k] += 0.4f;
    } else {
      y[i * k + c] = 1.0f;
    }
  }
  return y;
}

// Sample i's labels as the op sees them: smoothed in float, as doubles.
std::vector<double> SmoothedRow(ClassLabels kind, const std::vector<float>& y, int64_t i, int64_t k,
                                float smoothing) {
  const float keep = 1.0f - smoothing, add = smoothing / static_cast<float>(k);
  std::vector<double> row(k);
  for (int64_t j = 0; j < k; ++j) {
    const float label =
        kind == ClassLabels::kIndex ? (y[i] == static_cast<float>(j) ? 1.0f : 0.0f) : y[i * k + j];
    row[j] = label * keep + add;
  }
  return row;
}

struct Expected {
  double loss = 0.0, loss_tolerance = 0.0, correct = 0.0;
  std::vector<double> grad, grad_tolerance;
};

Expected Reference(ClassLabels kind, const std::vector<float>& z, const std::vector<float>& y,
                   int64_t rows, int64_t k, float smoothing, float scale) {
  Expected e;
  const double factor = static_cast<double>(k + 8) * kFloatRoundoff;
  for (int64_t i = 0; i < rows; ++i) {
    const std::vector<double> zi(z.begin() + i * k, z.begin() + (i + 1) * k);
    const std::vector<double> yi = SmoothedRow(kind, y, i, k, smoothing);
    std::vector<double> p;
    e.loss += testing::RefSoftmaxCe(zi, yi, &p);
    const double m = *std::max_element(zi.begin(), zi.end());
    double log_s = 0.0, label_sum = 0.0;
    for (const double v : zi) log_s += std::exp(v - m);
    log_s = std::log(log_s);
    for (int64_t j = 0; j < k; ++j) {
      e.loss_tolerance += factor * std::fabs(yi[j]) * (m - zi[j] + log_s + 1.0);
      label_sum += yi[j];
    }
    const auto predicted = std::max_element(zi.begin(), zi.end()) - zi.begin();
    const auto target =
        kind == ClassLabels::kIndex
            ? static_cast<int64_t>(y[i])
            : std::max_element(y.begin() + i * k, y.begin() + (i + 1) * k) - (y.begin() + i * k);
    e.correct += predicted == target;
    for (int64_t j = 0; j < k; ++j) {
      e.grad.push_back((label_sum * p[j] - yi[j]) * scale);
      e.grad_tolerance.push_back(factor * (label_sum * p[j] * (1.0 + (m - zi[j])) + yi[j]) *
                                 std::fabs(scale));
    }
  }
  e.loss_tolerance += kFloatRoundoff * std::fabs(e.loss);
  return e;
}

void AddSoftmaxCe(ClassLabels kind, bool soft, int64_t k, float smoothing, int64_t rows,
                  bool with_grad) {
  const std::string name = std::string("softmax_ce/") + LabelsName(kind, soft) +
                           "/k=" + std::to_string(k) + (smoothing > 0 ? "/smoothing" : "") +
                           (with_grad ? "/" : "/no_grad/") + RowsName(rows);
  const int64_t label_cols = kind == ClassLabels::kIndex ? 1 : k;
  OpCase op_case{.name = name, .family = "softmax_ce"};
  op_case.value = [=](Context& c) -> Instance {
    const std::vector<float> z = c.Uniform(rows * k, -12.0f, 12.0f);
    const std::vector<float> y = Labels(kind, soft, rows, k);
    const float scale = 1.0f / static_cast<float>(std::max<int64_t>(rows, 1));
    const Tensor logits = c.Make({rows, k}, z), labels = c.Make({rows, label_cols}, y);
    Tensor grad(c.backend(), {rows, k});
    Tensor totals = c.Make({6}, std::vector<float>(6, -1.0f));
    return {.op =
                [=]() mutable {
                  ops::SoftmaxCrossEntropy(kind, smoothing, logits, labels, scale,
                                           with_grad ? &grad : nullptr, totals, 1);
                },
            .check =
                [=] {
                  const Expected e = Reference(kind, z, y, rows, k, smoothing, scale);
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
  if (with_grad) {
    op_case.gradient = [=](Context& c) {
      const std::vector<float> z = c.Uniform(rows * k, -4.0f, 4.0f);
      const std::vector<float> y = Labels(kind, soft, rows, k);
      const float scale = 0.5f;
      Tensor grad(c.backend(), {rows, k}), totals(c.backend(), {2});
      ops::SoftmaxCrossEntropy(kind, smoothing, c.Make({rows, k}, z), c.Make({rows, label_cols}, y),
                               scale, &grad, totals, 0);
      const Expected e = Reference(kind, z, y, rows, k, smoothing, scale);
      std::vector<double> numerical(static_cast<size_t>(rows * k));
      for (int64_t i = 0; i < rows; ++i) {
        const std::vector<double> yi = SmoothedRow(kind, y, i, k, smoothing);
        for (int64_t j = 0; j < k; ++j) {
          std::vector<double> zi(z.begin() + i * k, z.begin() + (i + 1) * k);
          numerical[i * k + j] = scale * CentralDifference(
                                             [&](double v) {
                                               zi[j] = v;
                                               return testing::RefSoftmaxCe(zi, yi);
                                             },
                                             z[i * k + j]);
        }
      }
      ExpectClose(
          numerical, grad.ToHost(), [&](size_t i) { return e.grad_tolerance[i] + 1e-9; }, "dL/dz");
    };
  }
  Register(std::move(op_case));
}

// Logits of +-1e4 stay finite and exact: the wrong class costs the logit gap, the right one
// nothing, and the gradient is exactly softmax - y with softmax one-hot.
void AddExtremeLogits() {
  Register({.name = "softmax_ce/index/extremes",
            .family = "softmax_ce",
            .value = [](Context& c) -> Instance {
              const Tensor logits = c.Make({3, 3}, {1e4f, -1e4f, 0.0f,     // label 1: costs 2e4
                                                    -1e4f, 1e4f, 1e4f,     // label 2: log 2
                                                    1e4f, -1e4f, -1e4f});  // label 0: free
              const Tensor labels = c.Make({3, 1}, {1.0f, 2.0f, 0.0f});
              Tensor grad(c.backend(), {3, 3}), totals(c.backend(), {2});
              return {.op =
                          [=]() mutable {
                            ops::SoftmaxCrossEntropy(ClassLabels::kIndex, 0.0f, logits, labels,
                                                     1.0f, &grad, totals, 0);
                          },
                      .check =
                          [=] {
                            const std::vector<float> t = totals.ToHost();
                            EXPECT_NEAR(t[0], 2e4 + std::log(2.0), 2e4 * 1e-6) << "loss sum";
                            EXPECT_EQ(t[1], 1.0f) << "correct: only the last sample (the "
                                                     "second's first largest is class 1)";
                            testing::ExpectClose(
                                std::vector<double>{1, -1, 0, 0, 0.5, -0.5, 0, 0, 0}, grad.ToHost(),
                                0.0, 1e-6, "grad");
                          }};
            },
            .timed = false});
}

// A NaN logit makes its sample's loss and gradients NaN and never correct; an index label
// that is not a class (2.5, 7, -1) makes them NaN too, leaving the other samples alone.
void AddNanRules() {
  Register({.name = "softmax_ce/nan_rule",
            .family = "softmax_ce",
            .value = [](Context& c) -> Instance {
              constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
              const Tensor logits = c.Make({5, 2}, {kNaN, 0, 3, 0, 1, 0, 1, 0, 1, 0});
              const Tensor labels = c.Make({5, 1}, {1, 0, 2.5f, 7, -1});
              Tensor grad(c.backend(), {5, 2}), t2(c.backend(), {2}), t1(c.backend(), {2});
              return {.op =
                          [=]() mutable {
                            ops::SoftmaxCrossEntropy(ClassLabels::kIndex, 0.0f, logits, labels,
                                                     1.0f, &grad, t2, 0);
                            ops::SoftmaxCrossEntropy(ClassLabels::kIndex, 0.0f, logits.Rows(1, 2),
                                                     labels.Rows(1, 2), 1.0f, nullptr, t1, 0);
                          },
                      .check =
                          [=] {
                            const std::vector<float> t = t2.ToHost(), g = grad.ToHost();
                            EXPECT_TRUE(std::isnan(t[0])) << "loss sum " << t[0];
                            EXPECT_EQ(t[1], 1.0f) << "correct: the one valid sample";
                            for (size_t i = 0; i < g.size(); ++i) {
                              EXPECT_EQ(std::isnan(g[i]), i < 2 || i >= 4) << "grad[" << i << "]";
                            }
                            EXPECT_FALSE(std::isnan(t1.ToHost()[0])) << "a valid sample alone";
                          }};
            },
            .timed = false});
}

// Softmax: within (k + 4 + |m - z_j|) u of the reference (see above); finite for +-1e4.
void AddSoftmax(int64_t k, int64_t rows) {
  Register({.name = "softmax/k=" + std::to_string(k) + "/" + RowsName(rows),
            .family = "softmax_ce",
            .value = [=](Context& c) -> Instance {
              std::vector<float> z = c.Uniform(rows * k, -30.0f, 30.0f);
              if (!z.empty()) z[0] = 1e4f;
              Tensor t = c.Make({rows, k}, z);
              return {.op = [=]() mutable { ops::Softmax(t); },
                      .check =
                          [=] {
                            std::vector<double> expected, tolerance;
                            for (int64_t i = 0; i < rows; ++i) {
                              std::vector<double> p;
                              const std::vector<double> zi(z.begin() + i * k,
                                                           z.begin() + (i + 1) * k);
                              testing::RefSoftmaxCe(zi, std::vector<double>(k, 0.0), &p);
                              const double m = *std::max_element(zi.begin(), zi.end());
                              for (int64_t j = 0; j < k; ++j) {
                                expected.push_back(p[j]);
                                tolerance.push_back(static_cast<double>(k + 4) + (m - zi[j]));
                              }
                            }
                            ExpectClose(
                                expected, t.ToHost(),
                                [&](size_t i) {
                                  return kFloatRoundoff * tolerance[i] * expected[i] + 1e-45;
                                },
                                "softmax");
                          }};
            },
            .timed = false});
}

void AddValidation() {
  Register({.name = "softmax_ce.validation", .family = "softmax_ce", .validation = [](Context& c) {
              using testing::ExpectThrowsWith;
              const Tensor logits(c.backend(), {4, 3}), index(c.backend(), {4, 1});
              Tensor grad(c.backend(), {4, 3}), totals(c.backend(), {2});
              ExpectThrowsWith<std::invalid_argument>(
                  [&] {
                    ops::SoftmaxCrossEntropy(ClassLabels::kDistribution, 0.0f, logits, index, 1.0f,
                                             &grad, totals, 0);
                  },
                  {"SoftmaxCrossEntropy", "logits [4 x 3]", "need labels [4 x 3]", "[4 x 1]"});
              ExpectThrowsWith<std::invalid_argument>(
                  [&] {
                    ops::SoftmaxCrossEntropy(ClassLabels::kIndex, 0.0f, logits, logits, 1.0f, &grad,
                                             totals, 0);
                  },
                  {"SoftmaxCrossEntropy", "need labels [4 x 1] (class indices)", "[4 x 3]"});
              ExpectThrowsWith<std::invalid_argument>(
                  [&] {
                    ops::SoftmaxCrossEntropy(ClassLabels::kIndex, 1.5f, logits, index, 1.0f, &grad,
                                             totals, 0);
                  },
                  {"SoftmaxCrossEntropy", "label_smoothing 1.5", "[0, 1]"});
              ExpectThrowsWith<std::out_of_range>(
                  [&] {
                    ops::SoftmaxCrossEntropy(ClassLabels::kIndex, 0.0f, logits, index, 1.0f, &grad,
                                             totals, 1);
                  },
                  {"SoftmaxCrossEntropy", "slot 1", "[2]"});
            }});
}

const Registrar kCases([] {
  for (const int64_t k : {2, 3, 10}) {
    for (const int64_t rows : kRows) {
      AddSoftmaxCe(ClassLabels::kIndex, false, k, 0.0f, rows, true);
      AddSoftmaxCe(ClassLabels::kIndex, false, k, 0.1f, rows, true);
      AddSoftmaxCe(ClassLabels::kDistribution, false, k, 0.0f, rows, true);
      AddSoftmaxCe(ClassLabels::kDistribution, true, k, 0.2f, rows, true);
      AddSoftmaxCe(ClassLabels::kDistribution, false, k, 0.0f, rows, false);
    }
    AddSoftmax(k, 33);
  }
  AddExtremeLogits();
  AddNanRules();
  AddValidation();
});

}  // namespace
}  // namespace fanin::harness
