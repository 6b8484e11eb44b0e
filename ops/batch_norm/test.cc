// BatchNormForward and BatchNormBackward cases (tests/harness/harness.h): the training forward
// (xhat, y, the moving statistics' step, inv_std) and the inference forward against the double
// reference; the backward's dx, dgamma, dbeta against the reference's analytic gradient and
// against central differences of the reference loss sum w y; the argument errors.
//
// Tolerances, u = 2^-24. The mean and variance are double sums of float inputs: exact to
// ~n 2^-53, far below float. xhat = (x - mean) inv_std: x - mean rounds (u |x - mean|), mean
// and inv_std round once each to float (u each, relative), the product once: 4 u |xhat| +
// u |mean| inv_std (large for a nearly constant column, whose mean dwarfs its spread); y =
// gamma xhat + beta adds 2 roundings: |gamma| (that) + 2 u (|gamma xhat| + |beta|). The
// moving statistics: two products and a sum, 4 u of their terms. The backward: dgamma and
// dbeta are double sums of float products, off by the xhat errors times |dy| plus their own
// rounding; dx = gamma inv_std (dy - mean_dy - xhat mean_dy_xhat) carries the xhat error
// (directly, and through mean_dy_xhat) plus 6 u of the terms' magnitudes, times |gamma
// inv_std|, plus 3 u of itself for gamma inv_std's rounding.
//
// cuDNN's variant (the cuda_cudnn target) sums in float, in an order it does not document:
// any order errs by at most g = n u / (1 - n u) of the sum of the terms' magnitudes, so the
// mean by dm = g mean|x|, and a two-pass or Welford variance by dv = g var + 2 dm mean|x - m|
// + dm^2 (a one-pass E[x^2] - E[x]^2 has no such bound, and would fail the nearly constant
// column: the case is there to show it). inv_std then errs by inv_std dv / (2 (var + eps)),
// xhat by |x - m| of that plus inv_std dm; the moving variance, recovered from inv_std, by
// 2 dv + 4 u (var + eps) times 1 - momentum; dgamma and dbeta by g of their terms.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "fanin/ops.h"
#include "ops/batch_norm/reference.h"
#include "tests/expect_error.h"
#include "tests/harness/harness.h"
#include "tests/test_util.h"

namespace fanin::harness {
namespace {

using testing::ExpectClose;
using testing::kFloatRoundoff;
constexpr double u = kFloatRoundoff;

std::vector<double> ToDouble(const std::vector<float>& v) { return {v.begin(), v.end()}; }

struct Inputs {
  std::vector<float> x, gamma, beta, mm, mv;
};

// The extra error of float column sums (cuDNN's variant; see the top), 0 for fanin's kernels.
struct SumErrors {
  double g = 0.0;
  std::vector<double> dm, dv, dinv;  // per column: mean, variance, inv_std

  // xhat's extra error at (x, column j).
  double Xhat(double x, const std::vector<double>& mean, const std::vector<double>& inv,
              int64_t j) const {
    return g == 0.0 ? 0.0 : std::fabs(x - mean[j]) * dinv[j] + inv[j] * dm[j];
  }
};

SumErrors SumErrorsOf(const Context& c, const std::vector<float>& x, int64_t n, int64_t k,
                      const std::vector<double>& mean, const std::vector<double>& var,
                      double epsilon) {
  SumErrors e;
  if (!c.target().options.cudnn_batch_norm) return e;
  e.g = n * u / (1 - n * u);
  e.dm.assign(k, 0.0);
  e.dv.assign(k, 0.0);
  e.dinv.assign(k, 0.0);
  for (int64_t j = 0; j < k; ++j) {
    double abs_x = 0.0, abs_d = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      abs_x += std::fabs(x[i * k + j]);
      abs_d += std::fabs(x[i * k + j] - mean[j]);
    }
    e.dm[j] = e.g * abs_x / n;
    e.dv[j] = e.g * var[j] + 2 * e.dm[j] * abs_d / n + e.dm[j] * e.dm[j];
    e.dinv[j] = e.dv[j] / (2 * (var[j] + epsilon) * std::sqrt(var[j] + epsilon));
  }
  return e;
}

// Columns with different means and spreads (one nearly constant, so epsilon matters).
Inputs MakeInputs(Context& c, int64_t n, int64_t k) {
  Inputs in{c.Uniform(n * k, -1.0f, 1.0f), c.Uniform(k, 0.5f, 2.0f), c.Uniform(k, -1.0f, 1.0f),
            c.Uniform(k, -0.5f, 0.5f), c.Uniform(k, 0.5f, 2.0f)};
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < k; ++j) {
      float& v = in.x[i * k + j];
      v = j == 0 ? 3.0f + 1e-3f * v : static_cast<float>(j) + v * static_cast<float>(1 + j % 4);
    }
  }
  return in;
}

void AddForward(bool training, int64_t n, int64_t k) {
  Register(
      {.name = std::string("batch_norm.forward/") + (training ? "train" : "infer") +
               "/cols=" + std::to_string(k) + "/" + RowsName(n),
       .family = "batch_norm",
       .value = [=](Context& c) -> Instance {
         const Inputs in = MakeInputs(c, n, k);
         const BatchNormSpec spec{.epsilon = 1e-3f, .momentum = 0.9f};
         const Tensor x = c.Make({n, k}, in.x), gamma = c.Make({k}, in.gamma),
                      beta = c.Make({k}, in.beta);
         Tensor mm = c.Make({k}, in.mm), mv = c.Make({k}, in.mv);
         Tensor xhat(c.backend(), {n, k}), y(c.backend(), {n, k}), inv_std = c.Make({k}, in.mv);
         return {
             .op =
                 [=]() mutable {
                   // Timed repeats would keep moving the statistics: reset them each call.
                   c.Make({k}, in.mm).CopyTo(mm);
                   c.Make({k}, in.mv).CopyTo(mv);
                   ops::BatchNormForward(spec, training, x, gamma, beta, mm, mv, xhat, y, inv_std);
                 },
             .check =
                 [=] {
                   std::vector<double> mean(k), var(k), inv(k), exp_xhat, exp_y, tol_xhat, tol_y;
                   if (training) {
                     const testing::RefBatchNorm r = testing::RefBatchNormTrain(
                         ToDouble(in.x), n, k, ToDouble(in.gamma), ToDouble(in.beta), spec.epsilon);
                     mean = r.mean;
                     var = r.var;
                   } else {
                     mean = ToDouble(in.mm);
                     var = ToDouble(in.mv);
                   }
                   for (int64_t j = 0; j < k; ++j) inv[j] = 1.0 / std::sqrt(var[j] + spec.epsilon);
                   // Inference stays on fanin's kernel in every target.
                   const SumErrors sums =
                       training ? SumErrorsOf(c, in.x, n, k, mean, var, spec.epsilon) : SumErrors{};
                   for (int64_t i = 0; i < n; ++i) {
                     for (int64_t j = 0; j < k; ++j) {
                       const double is = inv[j];
                       const double v = (in.x[i * k + j] - mean[j]) * is;
                       exp_xhat.push_back(v);
                       exp_y.push_back(in.gamma[j] * v + in.beta[j]);
                       const double t = 4 * u * std::fabs(v) + u * std::fabs(mean[j]) * is +
                                        sums.Xhat(in.x[i * k + j], mean, inv, j);
                       tol_xhat.push_back(t);
                       tol_y.push_back(std::fabs(in.gamma[j]) * t +
                                       2 * u *
                                           (std::fabs(in.gamma[j] * v) + std::fabs(in.beta[j])));
                     }
                   }
                   ExpectClose(
                       exp_xhat, xhat.ToHost(), [&](size_t i) { return tol_xhat[i]; }, "xhat");
                   ExpectClose(
                       exp_y, y.ToHost(), [&](size_t i) { return tol_y[i]; }, "y");
                   // The op's float momentum and 1 - momentum, exactly; then two products, a
                   // sum and the batch statistic's rounding to float.
                   const double m = spec.momentum, m1 = 1.0f - spec.momentum;
                   std::vector<double> exp_mm = ToDouble(in.mm), exp_mv = ToDouble(in.mv),
                                       exp_is = ToDouble(in.mv), tol_mm(k, 0.0), tol_mv(k, 0.0);
                   if (training) {
                     for (int64_t j = 0; j < k; ++j) {
                       exp_mm[j] = m * in.mm[j] + m1 * mean[j];
                       exp_mv[j] = m * in.mv[j] + m1 * var[j];
                       exp_is[j] = 1.0 / std::sqrt(var[j] + spec.epsilon);
                       tol_mm[j] = 4 * u * (std::fabs(m * in.mm[j]) + std::fabs(m1 * mean[j]));
                       tol_mv[j] = 4 * u * (std::fabs(m * in.mv[j]) + std::fabs(m1 * var[j]));
                       if (sums.g > 0) {
                         tol_mm[j] += m1 * sums.dm[j];
                         tol_mv[j] += m1 * (2 * sums.dv[j] + 4 * u * (var[j] + spec.epsilon));
                       }
                     }
                   }
                   ExpectClose(
                       exp_mm, mm.ToHost(), [&](size_t j) { return tol_mm[j]; }, "moving_mean");
                   ExpectClose(
                       exp_mv, mv.ToHost(), [&](size_t j) { return tol_mv[j]; }, "moving_var");
                   ExpectClose(
                       exp_is, inv_std.ToHost(),
                       [&](size_t i) {
                         return 2 * u * std::fabs(exp_is[i]) + (sums.g > 0 ? sums.dinv[i] : 0.0);
                       },
                       training ? "inv_std" : "inv_std untouched");
                 }};
       }});
}

// The loss L = sum_ij w_ij y_ij (dy = w) through the training forward.
void AddBackward(int64_t n, int64_t k) {
  OpCase op_case{.name = "batch_norm.backward/cols=" + std::to_string(k) + "/" + RowsName(n),
                 .family = "batch_norm"};
  const auto run = [=](Context& c, const Inputs& in, const std::vector<float>& w) {
    const BatchNormSpec spec{};
    const Tensor x = c.Make({n, k}, in.x), gamma = c.Make({k}, in.gamma),
                 beta = c.Make({k}, in.beta);
    Tensor mm = c.Make({k}, in.mm), mv = c.Make({k}, in.mv);
    Tensor xhat(c.backend(), {n, k}), y(c.backend(), {n, k}), inv_std(c.backend(), {k});
    ops::BatchNormForward(spec, true, x, gamma, beta, mm, mv, xhat, y, inv_std);
    Tensor dgamma(c.backend(), {k}), dbeta(c.backend(), {k}), dx(c.backend(), {n, k});
    ops::BatchNormBackward(c.Make({n, k}, w), xhat, gamma, inv_std, dgamma, dbeta, &dx);
    return std::vector<Tensor>{dx, dgamma, dbeta};
  };
  const auto host = [](const std::vector<Tensor>& t) {
    std::vector<std::vector<float>> h;
    for (const Tensor& v : t) h.push_back(v.ToHost());
    return h;
  };
  op_case.value = [=](Context& c) -> Instance {
    const Inputs in = MakeInputs(c, n, k);
    const std::vector<float> w = c.Uniform(n * k, -1.0f, 1.0f);
    return {
        .op = [=, &c]() mutable { (void)run(c, in, w); },
        .check =
            [=, &c] {
              const auto got = host(run(c, in, w));
              const testing::RefBatchNorm r = testing::RefBatchNormTrain(
                  ToDouble(in.x), n, k, ToDouble(in.gamma), ToDouble(in.beta), 1e-3);
              std::vector<double> dgamma(k, 0.0), dbeta(k, 0.0), dx(n * k), tol(n * k);
              for (int64_t i = 0; i < n; ++i) {
                for (int64_t j = 0; j < k; ++j) {
                  dgamma[j] += w[i * k + j] * r.xhat[i * k + j];
                  dbeta[j] += w[i * k + j];
                }
              }
              // xhat's error per element (see the top), and what it does to the column's
              // mean of dy xhat.
              std::vector<double> inv(k);
              for (int64_t j = 0; j < k; ++j) inv[j] = 1.0 / std::sqrt(r.var[j] + 1e-3);
              const SumErrors sums = SumErrorsOf(c, in.x, n, k, r.mean, r.var, 1e-3);
              const auto xhat_err = [&](int64_t i, int64_t j) {
                return 4 * u * std::fabs(r.xhat[i * k + j]) + u * std::fabs(r.mean[j]) * inv[j] +
                       sums.Xhat(in.x[i * k + j], r.mean, inv, j);
              };
              // cuDNN's float sums of dy and dy xhat (0 for fanin's).
              std::vector<double> sum_abs_w(k, 0.0), sum_abs_wx(k, 0.0);
              for (int64_t i = 0; i < n; ++i) {
                for (int64_t j = 0; j < k; ++j) {
                  sum_abs_w[j] += std::fabs(w[i * k + j]);
                  sum_abs_wx[j] += std::fabs(w[i * k + j] * r.xhat[i * k + j]);
                }
              }
              std::vector<double> mdx_err(k, 0.0);
              for (int64_t i = 0; i < n; ++i) {
                for (int64_t j = 0; j < k; ++j) {
                  mdx_err[j] += std::fabs(w[i * k + j]) * xhat_err(i, j) / n;
                }
              }
              for (int64_t i = 0; i < n; ++i) {
                for (int64_t j = 0; j < k; ++j) {
                  const double is = 1.0 / std::sqrt(r.var[j] + 1e-3);
                  const double md = dbeta[j] / n, mdx = dgamma[j] / n;
                  const double v = r.xhat[i * k + j];
                  dx[i * k + j] = in.gamma[j] * is * (w[i * k + j] - md - v * mdx);
                  tol[i * k + j] =
                      std::fabs(in.gamma[j] * is) *
                          (xhat_err(i, j) * std::fabs(mdx) +
                           std::fabs(v) * (mdx_err[j] + u * std::fabs(mdx)) +
                           6 * u * (std::fabs(w[i * k + j]) + std::fabs(md) + std::fabs(v * mdx)) +
                           sums.g * (sum_abs_w[j] + std::fabs(v) * sum_abs_wx[j]) / n) +
                      3 * u * std::fabs(dx[i * k + j]) +
                      (sums.g > 0 ? std::fabs(dx[i * k + j]) * sums.dinv[j] / inv[j] : 0.0);
                }
              }
              std::vector<double> dg_tol(k), db_tol(k);
              for (int64_t j = 0; j < k; ++j) {
                double mag = 0.0, sum_w = 0.0;
                for (int64_t i = 0; i < n; ++i) {
                  mag += std::fabs(w[i * k + j]) * xhat_err(i, j);
                  sum_w += std::fabs(w[i * k + j]);
                }
                dg_tol[j] = mag + 2 * u * std::fabs(dgamma[j]) + sums.g * sum_abs_wx[j];
                db_tol[j] = u * sum_w + sums.g * sum_w;
              }
              ExpectClose(
                  dx, got[0], [&](size_t i) { return tol[i]; }, "dx");
              ExpectClose(
                  dgamma, got[1], [&](size_t i) { return dg_tol[i]; }, "dgamma");
              ExpectClose(
                  dbeta, got[2], [&](size_t i) { return db_tol[i]; }, "dbeta");
            }};
  };
  // dx against central differences of the reference loss, which differentiates the batch
  // mean and variance without the analytic formula; a few rows of each column.
  op_case.gradient = [=](Context& c) {
    if (c.target().options.cudnn_batch_norm) {
      GTEST_SKIP() << "cuDNN's backward: Value mode bounds its dx against the reference; the "
                      "differences' 1e-4 below is for fanin's double sums";
    }
    const Inputs in = MakeInputs(c, n, k);
    const std::vector<float> w = c.Uniform(n * k, -1.0f, 1.0f);
    const auto got = host(run(c, in, w));
    const auto loss = [&](const std::vector<double>& x) {
      const testing::RefBatchNorm r =
          testing::RefBatchNormTrain(x, n, k, ToDouble(in.gamma), ToDouble(in.beta), 1e-3);
      double l = 0.0;
      for (size_t e = 0; e < x.size(); ++e) l += w[e] * r.y[e];
      return l;
    };
    std::vector<double> numerical, analytic;
    for (int64_t i = 0; i < n; i += std::max<int64_t>(1, n / 5)) {
      for (int64_t j = 0; j < k; ++j) {
        std::vector<double> x = ToDouble(in.x);
        const size_t e = static_cast<size_t>(i * k + j);
        numerical.push_back(CentralDifference(
            [&](double v) {
              x[e] = v;
              return loss(x);
            },
            in.x[e]));
        analytic.push_back(got[0][e]);
      }
    }
    std::vector<float> actual(analytic.begin(), analytic.end());
    // The column's near-constant first feature has inv_std ~ 30, so its dx are large and the
    // float rounding above is what bounds them: 1e-4 relative plus 1e-6.
    ExpectClose(numerical, actual, 1e-4, 1e-6, "dx vs differences");
  };
  Register(std::move(op_case));
}

void AddValidation() {
  Register(
      {.name = "batch_norm.validation", .family = "batch_norm", .validation = [](Context& c) {
         using testing::ExpectThrowsWith;
         const Tensor x(c.backend(), {4, 3}), g(c.backend(), {3}), g2(c.backend(), {2});
         Tensor mm(c.backend(), {3}), mv(c.backend(), {3}), xhat(c.backend(), {4, 3}),
             y(c.backend(), {4, 3}), is(c.backend(), {3}), empty(c.backend(), {0, 3});
         ExpectThrowsWith<std::invalid_argument>(
             [&] { ops::BatchNormForward({}, true, x, g2, g, mm, mv, xhat, y, is); },
             {"BatchNormForward", "gamma [2]", "one value per column of [4 x 3]"});
         ExpectThrowsWith<std::invalid_argument>(
             [&] { ops::BatchNormForward({}, true, empty, g, g, mm, mv, empty, empty, is); },
             {"BatchNormForward", "a training batch needs a row", "[0 x 3]"});
         ExpectThrowsWith<std::invalid_argument>(
             [&] { ops::BatchNormForward({.epsilon = 0.0f}, true, x, g, g, mm, mv, xhat, y, is); },
             {"BatchNormForward", "epsilon 0"});
         Tensor dg(c.backend(), {3}), db(c.backend(), {2});
         ExpectThrowsWith<std::invalid_argument>(
             [&] { ops::BatchNormBackward(x, xhat, g, is, dg, db, nullptr); },
             {"BatchNormBackward", "dbeta [2]"});
       }});
}

const Registrar kCases([] {
  for (const int64_t n : {1, 7, 33, 1000}) {
    for (const int64_t k : {1, 5, 40}) {
      AddForward(/*training=*/true, n, k);
      AddForward(/*training=*/false, n, k);
      AddBackward(n, k);
    }
  }
  AddValidation();
});

}  // namespace
}  // namespace fanin::harness
