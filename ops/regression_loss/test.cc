// RegressionLoss cases (tests/harness/harness.h): squared and absolute error for 1 and 3
// outputs, with and without the gradient, into one slot of a longer totals; equal outputs and
// targets (|d|'s kink: gradient 0); NaN outputs; the gradient against finite differences of the
// reference; the argument errors.
//
// Tolerances, u = 2^-24. d = o - y is one rounding (u |d|); d^2 two more, and the per-sample
// sums are in double: the squared error within 4 u of sum d^2 / k, the absolute within 2 u of
// sum |d| / k; the float totals add u of themselves. The gradients 2 d scale / k and
// sign(d) scale / k: 4 u of themselves (the sign is exact: o - y rounds to 0 only when o == y).
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "fanin/ops.h"
#include "ops/regression_loss/reference.h"
#include "tests/expect_error.h"
#include "tests/harness/harness.h"
#include "tests/test_util.h"

namespace fanin::harness {
namespace {

using testing::ExpectClose;
using testing::kFloatRoundoff;

const char* KindName(ErrorKind kind) {
  return kind == ErrorKind::kSquared ? "squared" : "absolute";
}

struct Expected {
  double loss = 0.0, metric = 0.0, loss_tolerance = 0.0, metric_tolerance = 0.0;
  std::vector<double> grad;
};

Expected Reference(ErrorKind kind, const std::vector<float>& o, const std::vector<float>& y,
                   int64_t rows, int64_t k, float scale) {
  Expected e;
  double squared = 0.0, absolute = 0.0;
  for (int64_t i = 0; i < rows; ++i) {
    const std::vector<double> oi(o.begin() + i * k, o.begin() + (i + 1) * k);
    const std::vector<double> yi(y.begin() + i * k, y.begin() + (i + 1) * k);
    const testing::RefErrors r = testing::RefRegressionErrors(oi, yi);
    squared += r.squared;
    absolute += r.absolute;
    for (int64_t j = 0; j < k; ++j) {
      const double d = oi[j] - yi[j];
      e.grad.push_back(kind == ErrorKind::kSquared
                           ? 2.0 * d * scale / static_cast<double>(k)
                           : (d > 0 ? 1.0 : (d < 0 ? -1.0 : 0.0)) * scale / static_cast<double>(k));
    }
  }
  const bool sq = kind == ErrorKind::kSquared;
  e.loss = sq ? squared : absolute;
  e.metric = sq ? absolute : squared;
  e.loss_tolerance = (sq ? 5 : 3) * kFloatRoundoff * e.loss;
  e.metric_tolerance = (sq ? 3 : 5) * kFloatRoundoff * e.metric;
  return e;
}

void AddRegression(ErrorKind kind, int64_t k, int64_t rows, bool with_grad) {
  OpCase op_case{.name = std::string("regression_loss/") + KindName(kind) + "/k=" +
                         std::to_string(k) + (with_grad ? "/" : "/no_grad/") + RowsName(rows),
                 .family = "regression_loss"};
  op_case.value = [=](Context& c) -> Instance {
    std::vector<float> o = c.Uniform(rows * k, -3.0f, 3.0f);
    const std::vector<float> y = c.Uniform(rows * k, -3.0f, 3.0f);
    if (o.size() > 1) o[1] = y[1];  // d = 0: |d|'s kink, gradient 0
    const float scale = 1.0f / static_cast<float>(std::max<int64_t>(rows, 1));
    const Tensor output = c.Make({rows, k}, o), targets = c.Make({rows, k}, y);
    Tensor grad(c.backend(), {rows, k});
    Tensor totals = c.Make({6}, std::vector<float>(6, -1.0f));
    return {.op =
                [=]() mutable {
                  ops::RegressionLoss(kind, output, targets, scale, with_grad ? &grad : nullptr,
                                      totals, 1);
                },
            .check =
                [=] {
                  const Expected e = Reference(kind, o, y, rows, k, scale);
                  const std::vector<float> t = totals.ToHost();
                  ExpectClose(
                      std::vector<double>{e.loss}, {t[2]}, [&](size_t) { return e.loss_tolerance; },
                      "loss sum");
                  ExpectClose(
                      std::vector<double>{e.metric}, {t[3]},
                      [&](size_t) { return e.metric_tolerance; }, "metric sum");
                  for (int i : {0, 1, 4, 5})
                    EXPECT_EQ(t[i], -1.0f) << "totals[" << i << "] written";
                  if (with_grad) {
                    ExpectClose(
                        e.grad, grad.ToHost(),
                        [&](size_t i) { return 4 * kFloatRoundoff * std::fabs(e.grad[i]); },
                        "grad");
                  }
                }};
  };
  if (with_grad) {
    // Away from the kink of |d| by far more than the difference step.
    op_case.gradient = [=](Context& c) {
      const std::vector<float> o = AwayFrom(c.Uniform(rows * k, -3.0f, 3.0f), {0.0f}, 0.01f);
      const std::vector<float> y(static_cast<size_t>(rows * k), 0.0f);
      const float scale = 0.5f;
      Tensor grad(c.backend(), {rows, k}), totals(c.backend(), {2});
      ops::RegressionLoss(kind, c.Make({rows, k}, o), c.Make({rows, k}, y), scale, &grad, totals,
                          0);
      const Expected e = Reference(kind, o, y, rows, k, scale);
      std::vector<double> numerical(static_cast<size_t>(rows * k));
      for (int64_t i = 0; i < rows; ++i) {
        for (int64_t j = 0; j < k; ++j) {
          std::vector<double> oi(o.begin() + i * k, o.begin() + (i + 1) * k);
          const std::vector<double> yi(k, 0.0);
          numerical[i * k + j] =
              scale * CentralDifference(
                          [&](double v) {
                            oi[j] = v;
                            const testing::RefErrors r = testing::RefRegressionErrors(oi, yi);
                            return kind == ErrorKind::kSquared ? r.squared : r.absolute;
                          },
                          o[i * k + j]);
        }
      }
      ExpectClose(
          numerical, grad.ToHost(),
          [&](size_t i) { return 4 * kFloatRoundoff * std::fabs(e.grad[i]) + 1e-9; }, "dL/do");
    };
  }
  Register(std::move(op_case));
}

void AddNanRule(ErrorKind kind) {
  Register({.name = std::string("regression_loss/") + KindName(kind) + "/nan_rule",
            .family = "regression_loss",
            .value = [=](Context& c) -> Instance {
              constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
              const Tensor output = c.Make({2, 1}, {kNaN, 1.0f});
              const Tensor targets = c.Make({2, 1}, {0.0f, 0.0f});
              Tensor grad(c.backend(), {2, 1}), totals(c.backend(), {2});
              return {.op =
                          [=]() mutable {
                            ops::RegressionLoss(kind, output, targets, 1.0f, &grad, totals, 0);
                          },
                      .check =
                          [=] {
                            const std::vector<float> t = totals.ToHost(), g = grad.ToHost();
                            EXPECT_TRUE(std::isnan(t[0]) && std::isnan(t[1]));
                            EXPECT_TRUE(std::isnan(g[0])) << g[0];
                            EXPECT_EQ(g[1], kind == ErrorKind::kSquared ? 2.0f : 1.0f);
                          }};
            },
            .timed = false});
}

void AddValidation() {
  Register(
      {.name = "regression_loss.validation",
       .family = "regression_loss",
       .validation = [](Context& c) {
         using testing::ExpectThrowsWith;
         const Tensor output(c.backend(), {4, 2}), targets(c.backend(), {4, 1});
         Tensor grad(c.backend(), {4, 2}), totals(c.backend(), {2});
         ExpectThrowsWith<std::invalid_argument>(
             [&] {
               ops::RegressionLoss(ErrorKind::kSquared, output, targets, 1.0f, &grad, totals, 0);
             },
             {"RegressionLoss", "output [4 x 2]", "targets [4 x 1]", "differ"});
         ExpectThrowsWith<std::out_of_range>(
             [&] {
               ops::RegressionLoss(ErrorKind::kAbsolute, output, output, 1.0f, &grad, totals, 1);
             },
             {"RegressionLoss", "slot 1", "[2]"});
       }});
}

const Registrar kCases([] {
  for (const ErrorKind kind : {ErrorKind::kSquared, ErrorKind::kAbsolute}) {
    for (const int64_t k : {1, 3}) {
      for (const int64_t rows : kRows) {
        AddRegression(kind, k, rows, /*with_grad=*/true);
        AddRegression(kind, k, rows, /*with_grad=*/false);
      }
    }
    AddNanRule(kind);
  }
  AddValidation();
});

}  // namespace
}  // namespace fanin::harness
