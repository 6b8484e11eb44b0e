// Gemm and Axpy cases (tests/harness/harness.h) against plain double sums.
//
// Tolerances, u = 2^-24. A float dot product of k terms errs by at most gamma_k sum |terms|
// ~ k u sum |terms| in any summation order (Higham, Accuracy and Stability of Numerical
// Algorithms, 3.1), blocked or not, with or without FMAs; alpha's product and beta c's add two
// more roundings: |c - c_exact| <= (k + 2) u (|alpha| sum_p |a_ip b_pj| + |beta c_ij|). TF32
// (cuda_tf32) rounds each input to 10 mantissa bits first: each product then errs by a further
// 2 * 2^-10 relative. Axpy's y + alpha x is a product and a sum (or one FMA): 2 u (|y| + |alpha
// x|). A transposed operand read the wrong way, a missing beta c or a stale c err by O(1).
#include <cmath>
#include <limits>
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

struct GemmShape {
  int64_t m, k, n;
  bool transpose_a, transpose_b;
  float alpha, beta;
  bool nan_c;  // c holds NaN: with beta = 0 its old contents must not be read (BLAS semantics)
};

void AddGemm(const std::string& name, const GemmShape& g) {
  Register({.name = name, .family = "gemm", .value = [=](Context& c) -> Instance {
              const std::vector<float> a = c.Uniform(g.m * g.k, -1.0f, 1.0f);
              const std::vector<float> b = c.Uniform(g.k * g.n, -1.0f, 1.0f);
              const std::vector<float> c0 =
                  g.nan_c ? std::vector<float>(g.m * g.n, std::numeric_limits<float>::quiet_NaN())
                          : c.Uniform(g.m * g.n, -1.0f, 1.0f);
              const Tensor at = c.Make(g.transpose_a ? Shape{g.k, g.m} : Shape{g.m, g.k}, a);
              const Tensor bt = c.Make(g.transpose_b ? Shape{g.n, g.k} : Shape{g.k, g.n}, b);
              Tensor ct = c.Make({g.m, g.n}, c0);
              const double input_rounding = c.target().gemm_input_rounding;
              return {.op =
                          [=]() mutable {
                            ops::Gemm(at, g.transpose_a, bt, g.transpose_b, g.alpha, g.beta, ct);
                          },
                      .check =
                          [=] {
                            // op(a)[i][p] and op(b)[p][j] read from the stored layouts.
                            const auto opa = [&](int64_t i, int64_t p) {
                              return g.transpose_a ? a[p * g.m + i] : a[i * g.k + p];
                            };
                            const auto opb = [&](int64_t p, int64_t j) {
                              return g.transpose_b ? b[j * g.k + p] : b[p * g.n + j];
                            };
                            std::vector<double> expected(g.m * g.n), tolerance(g.m * g.n);
                            for (int64_t i = 0; i < g.m; ++i) {
                              for (int64_t j = 0; j < g.n; ++j) {
                                double dot = 0.0, magnitude = 0.0;
                                for (int64_t p = 0; p < g.k; ++p) {
                                  const double term = static_cast<double>(opa(i, p)) * opb(p, j);
                                  dot += term;
                                  magnitude += std::fabs(term);
                                }
                                const size_t e = static_cast<size_t>(i * g.n + j);
                                const double old = g.beta == 0.0f ? 0.0 : g.beta * double{c0[e]};
                                expected[e] = g.alpha * dot + old;
                                tolerance[e] =
                                    (g.k + 2) * kFloatRoundoff *
                                        (std::fabs(g.alpha) * magnitude + std::fabs(old)) +
                                    2 * input_rounding * std::fabs(g.alpha) * magnitude;
                              }
                            }
                            ExpectClose(
                                expected, ct.ToHost(), [&](size_t e) { return tolerance[e]; }, "c");
                          }};
            }});
}

std::string Layout(bool transpose_a, bool transpose_b) {
  return std::string(transpose_a ? "t" : "n") + (transpose_b ? "t" : "n");
}

void AddAxpy(int64_t rows) {
  Register(
      {.name = "axpy/" + RowsName(rows), .family = "gemm", .value = [=](Context& c) -> Instance {
         const std::vector<float> x = c.Uniform(rows * 7, -2.0f, 2.0f);
         const std::vector<float> y0 = c.Uniform(rows * 7, -2.0f, 2.0f);
         const Tensor xt = c.Make({rows, 7}, x);
         Tensor y = c.Make({rows, 7}, y0);
         return {.op = [=]() mutable { ops::Axpy(-1.25f, xt, y); },
                 .check =
                     [=] {
                       std::vector<double> expected(x.size());
                       for (size_t i = 0; i < x.size(); ++i) expected[i] = y0[i] - 1.25 * x[i];
                       ExpectClose(
                           expected, y.ToHost(),
                           [&](size_t i) {
                             return 2 * kFloatRoundoff *
                                    (std::fabs(y0[i]) + 1.25 * std::fabs(x[i]));
                           },
                           "y");
                     }};
       }});
}

void AddValidation() {
  Register({.name = "gemm.validation", .family = "gemm", .validation = [](Context& c) {
              using testing::ExpectThrowsWith;
              Tensor a(c.backend(), {4, 3}), b(c.backend(), {4, 3}), out(c.backend(), {4, 4});
              Tensor vector(c.backend(), {3});
              ExpectThrowsWith<std::invalid_argument>(
                  [&] { ops::Gemm(a, false, b, false, 1.0f, 0.0f, out); },
                  {"Gemm", "[4 x 3]", "[4 x 4]", "does not conform"});
              ExpectThrowsWith<std::invalid_argument>(
                  [&] { ops::Gemm(vector, false, b, true, 1.0f, 0.0f, out); },
                  {"Gemm", "a must be a matrix", "[3]"});
              ExpectThrowsWith<std::invalid_argument>([&] { ops::Axpy(1.0f, a, out); },
                                                      {"Axpy", "x [4 x 3]", "y [4 x 4]"});
            }});
}

const Registrar kCases([] {
  for (const int64_t rows : kRows) {
    for (const bool ta : {false, true}) {
      for (const bool tb : {false, true}) {
        const std::string layout = "gemm/" + Layout(ta, tb);
        // The batch as the outer dimension (forward: x W) and as the inner one (backward: x^T
        // dz, where an empty batch is k = 0: c = beta c).
        AddGemm(layout + "/batch_outer/" + RowsName(rows), {rows, 37, 65, ta, tb, 0.7f, 0.3f});
        AddGemm(layout + "/batch_inner/" + RowsName(rows), {37, rows, 65, ta, tb, 0.7f, 0.3f});
      }
    }
    AddGemm("gemm/nn/beta0_nan_c/" + RowsName(rows), {rows, 33, 7, false, false, 1.0f, 0.0f, true});
    AddAxpy(rows);
  }
  AddValidation();
});

}  // namespace
}  // namespace fanin::harness
