// AdamUpdate cases (tests/harness/harness.h): one step of Keras 2's Adam (fanin/ops.h) in double
// from the state the op starts from: at t = 1 from zero moments, with tiny and zero gradients
// that tell epsilon added to sqrt(v) (Keras 2) from epsilon added to the bias-corrected
// sqrt(v_hat) (a factor sqrt(1 - b2) ~ 0.03 apart in the denominator: O(1) in the step), and at
// t = 3 from random moments.
//
// Tolerances, u = 2^-24. m = b1 m + (1 - b1) g is three roundings of terms bounded by b1 |m| and
// (1 - b1) |g|: 4 u of their sum (1 - b1 is exact in float: Sterbenz). v the same with g^2: 5 u.
// lr_t is computed in double and rounded once: u relative. The step lr_t m / (sqrt(v) + eps)
// moves by lr_t |dm| / (sqrt(v) + eps) for m's error and by lr_t |m| d / (sqrt(v) + eps)^2 for
// sqrt(v)'s error d <= min(dv / (2 sqrt(v)), sqrt(dv)), plus its own four roundings (5 u of it),
// and p's update one more rounding of |p|.
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "fanin/ops.h"
#include "tests/expect_error.h"
#include "tests/harness/harness.h"
#include "tests/test_util.h"

namespace fanin::harness {
namespace {

using testing::ExpectClose;
using testing::kFloatRoundoff;

void AddAdam(int64_t t, int64_t rows) {
  Register({.name = "adam/t=" + std::to_string(t) + "/" + RowsName(rows),
            .family = "adam",
            .value = [=](Context& c) -> Instance {
              const int64_t n = rows * 11;
              const AdamStep step{.learning_rate = 0.01f, .t = t};
              const std::vector<float> p0 = c.Uniform(n, -1.0f, 1.0f);
              std::vector<float> g = c.Uniform(n, -1.0f, 1.0f);
              std::vector<float> m0(n, 0.0f), v0(n, 0.0f);
              if (t == 1) {
                const float tiny[] = {1e-7f, -3e-8f, 0.0f, 1e-6f};
                for (int64_t i = 0; i < std::min<int64_t>(n, 4); ++i) g[i] = tiny[i];
              } else {
                m0 = c.Uniform(n, -0.1f, 0.1f);
                v0 = c.Uniform(n, 0.0f, 0.01f);
              }
              Tensor p = c.Make({n}, p0), m = c.Make({n}, m0), v = c.Make({n}, v0);
              const Tensor grads = c.Make({n}, g);
              return {.op = [=]() mutable { ops::AdamUpdate(step, p, grads, m, v); },
                      .check =
                          [=] {
                            const double b1 = step.beta1, b2 = step.beta2, eps = step.epsilon;
                            const double lr_t = step.learning_rate *
                                                std::sqrt(1 - std::pow(b2, t)) /
                                                (1 - std::pow(b1, t));
                            std::vector<double> m1(n), v1(n), p1(n), m_tol(n), v_tol(n), p_tol(n);
                            for (int64_t i = 0; i < n; ++i) {
                              const double gi = g[i];
                              m1[i] = b1 * m0[i] + (1 - b1) * gi;
                              v1[i] = b2 * v0[i] + (1 - b2) * gi * gi;
                              m_tol[i] = 4 * kFloatRoundoff *
                                         (b1 * std::fabs(m0[i]) + (1 - b1) * std::fabs(gi));
                              v_tol[i] = 5 * kFloatRoundoff * (b2 * v0[i] + (1 - b2) * gi * gi);
                              const double root = std::sqrt(v1[i]), denominator = root + eps;
                              const double step_size = lr_t * m1[i] / denominator;
                              p1[i] = p0[i] - step_size;
                              const double root_error =
                                  root > 0 ? std::min(v_tol[i] / (2 * root), std::sqrt(v_tol[i]))
                                           : std::sqrt(v_tol[i]);
                              p_tol[i] = lr_t * m_tol[i] / denominator +
                                         lr_t * std::fabs(m1[i]) * root_error /
                                             (denominator * denominator) +
                                         6 * kFloatRoundoff * std::fabs(step_size) +
                                         kFloatRoundoff * std::fabs(p1[i]);
                            }
                            ExpectClose(
                                m1, m.ToHost(), [&](size_t i) { return m_tol[i]; }, "m");
                            ExpectClose(
                                v1, v.ToHost(), [&](size_t i) { return v_tol[i]; }, "v");
                            ExpectClose(
                                p1, p.ToHost(), [&](size_t i) { return p_tol[i]; }, "params");
                          }};
            }});
}

void AddValidation() {
  Register({.name = "adam.validation", .family = "adam", .validation = [](Context& c) {
              Tensor p(c.backend(), {5}), g(c.backend(), {5}), m(c.backend(), {5}),
                  v(c.backend(), {4});
              testing::ExpectThrowsWith<std::invalid_argument>(
                  [&] { ops::AdamUpdate({}, p, g, m, v); }, {"AdamUpdate", "params [5]", "v [4]"});
            }});
}

const Registrar kCases([] {
  for (const int64_t rows : kRows) {
    AddAdam(1, rows);
    AddAdam(3, rows);
  }
  AddValidation();
});

}  // namespace
}  // namespace fanin::harness
