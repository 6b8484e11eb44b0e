// DenseForward cases (tests/harness/harness.h): z = x w + bias and a = act(z) against double
// sums and the activations' reference, for every activation of the table; and the dense layer's
// gradient (the activation's backward op and the two GEMMs of the backward pass) against
// finite differences of the reference forward.
//
// Tolerances, u = 2^-24. z is a k-term dot product plus the bias: (k + 2) u (sum_p |x_ip w_pj|
// + |b_j|) in any summation order (the gamma bound; ops/gemm/test.cc), plus TF32's input
// rounding on cuda_tf32. a = act(z) moves by at most |f'| times z's error, with f' evaluated
// near z: |f'(z)| + 1 bounds it also across a kink (relu's f' jumps by 1), plus the activation's
// own error (ops/activation/tolerance.h).
#include <algorithm>  // ops/activation/reference.h uses std::clamp without including it
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "fanin/ops.h"
#include "ops/activation/reference.h"
#include "ops/activation/tolerance.h"
#include "tests/expect_error.h"
#include "tests/harness/harness.h"
#include "tests/test_util.h"

namespace fanin::harness {
namespace {

using testing::ExpectClose;
using testing::kFloatRoundoff;
using testing::RefActivation;

struct DenseInputs {
  int64_t rows, in, units;
  std::vector<float> x, w, bias;
};

// z in double, and the bound on a float z's error.
struct DenseReference {
  std::vector<double> z, z_tolerance;
};

DenseReference Reference(const DenseInputs& d, double input_rounding) {
  DenseReference r{std::vector<double>(d.rows * d.units), std::vector<double>(d.rows * d.units)};
  for (int64_t i = 0; i < d.rows; ++i) {
    for (int64_t j = 0; j < d.units; ++j) {
      double z = d.bias[j], magnitude = 0.0;
      for (int64_t p = 0; p < d.in; ++p) {
        const double term = static_cast<double>(d.x[i * d.in + p]) * d.w[p * d.units + j];
        z += term;
        magnitude += std::fabs(term);
      }
      r.z[i * d.units + j] = z;
      r.z_tolerance[i * d.units + j] =
          (d.in + 2) * kFloatRoundoff * (magnitude + std::fabs(d.bias[j])) +
          2 * input_rounding * magnitude;
    }
  }
  return r;
}

DenseInputs Draw(Context& c, int64_t rows, int64_t in, int64_t units) {
  return {rows,
          in,
          units,
          c.Uniform(rows * in, -1.0f, 1.0f),
          c.Uniform(in * units, -1.0f, 1.0f),
          c.Uniform(units, -1.0f, 1.0f)};
}

std::string Name(Activation act, int64_t in, int64_t units, const std::string& variant,
                 int64_t rows) {
  return "dense.forward/" + std::string(ActivationName(act)) + "/in=" + std::to_string(in) +
         "/units=" + std::to_string(units) + variant + "/" + RowsName(rows);
}

// z and a start as NaN: DenseForward's GEMM has beta = 0, so their old contents must not be
// read. in = 0 is the empty sum: z = bias.
void AddForward(Activation act, int64_t rows, int64_t in, int64_t units, bool in_place) {
  OpCase op_case{.name = Name(act, in, units, in_place ? "/in_place" : "", rows),
                 .family = "dense"};
  op_case.value = [=](Context& c) -> Instance {
    const DenseInputs d = Draw(c, rows, in, units);
    const std::vector<float> nans(rows * units, std::numeric_limits<float>::quiet_NaN());
    const Tensor x = c.Make({rows, in}, d.x), w = c.Make({in, units}, d.w);
    const Tensor b = c.Make({units}, d.bias);
    Tensor z = c.Make({rows, units}, nans);
    Tensor a = in_place ? z : c.Make({rows, units}, nans);
    const double input_rounding = c.target().gemm_input_rounding;
    return {.op = [=]() mutable { ops::DenseForward(x, w, b, act, z, a); },
            .check =
                [=] {
                  const DenseReference r = Reference(d, input_rounding);
                  if (!in_place) {
                    ExpectClose(
                        r.z, z.ToHost(), [&](size_t i) { return r.z_tolerance[i]; }, "z");
                  }
                  std::vector<double> expected(r.z.size());
                  for (size_t i = 0; i < r.z.size(); ++i) expected[i] = RefActivation(act, r.z[i]);
                  ExpectClose(
                      expected, a.ToHost(),
                      [&](size_t i) {
                        const double slope =
                            std::fabs(testing::RefActivationDerivative(act, r.z[i])) + 1;
                        return slope * r.z_tolerance[i] + FormulaTolerance(r.z[i], expected[i]);
                      },
                      in_place ? "a (= z)" : "a");
                }};
  };
  Register(std::move(op_case));
}

// The layer's backward pass for L = sum r .* act(x w + b), r the upstream gradient:
//   dz = r .* act'(z) (ActivationBackward, with db = the column sums of dz),
//   dw = x^T dz, dx = dz w^T (Gemm with a transposed operand each)
// against central differences of the reference L. Each derivative is exact to ~1e-10
// (harness.h). The float results: dz within |r| (f' tolerance + f' moved by z's error, |f''|
// <= 1 for the table's activations, away from kinks) as in ops/activation/test.cc; dw and dx
// are GEMMs over those: their own gamma bound plus the dz errors carried through |x| or |w|
// (<= 1); db the same as a sum. The inputs are redrawn until every z is 1e-4 from a kink, far
// more than a step of 1e-5 moves it (|x|, |w| <= 1).
void AddGradient(Activation act, int64_t rows) {
  const int64_t in = 7, units = 5;
  Register({.name = "dense.backward/" + std::string(ActivationName(act)) + "/" + RowsName(rows),
            .family = "dense",
            .gradient = [=](Context& c) {
              DenseInputs d;
              DenseReference r;
              do {
                d = Draw(c, rows, in, units);
                r = Reference(d, c.target().gemm_input_rounding);
              } while (std::ranges::any_of(r.z, [](double z) {
                return std::ranges::any_of(std::vector<double>{-3, 0, 3},
                                           [z](double kink) { return std::fabs(z - kink) < 1e-4; });
              }));
              const std::vector<float> upstream = c.Uniform(rows * units, -1.0f, 1.0f);
              const Tensor x = c.Make({rows, in}, d.x), w = c.Make({in, units}, d.w);
              const Tensor b = c.Make({units}, d.bias), dy = c.Make({rows, units}, upstream);
              Tensor z(c.backend(), {rows, units}), a(c.backend(), {rows, units});
              Tensor dz(c.backend(), {rows, units}), db(c.backend(), {units});
              Tensor dw(c.backend(), {in, units}), dx(c.backend(), {rows, in});
              ops::DenseForward(x, w, b, act, z, a);
              ops::ActivationBackward(act, z, a, dy, dz, &db);
              ops::Gemm(x, true, dz, false, 1.0f, 0.0f, dw);
              ops::Gemm(dz, false, w, true, 1.0f, 0.0f, dx);

              std::vector<double> xs(d.x.begin(), d.x.end()), ws(d.w.begin(), d.w.end()),
                  bs(d.bias.begin(), d.bias.end());
              // L restricted to the rows and units a parameter reaches.
              const auto loss = [&](int64_t row_begin, int64_t row_end, int64_t unit_begin,
                                    int64_t unit_end) {
                double total = 0.0;
                for (int64_t i = row_begin; i < row_end; ++i) {
                  for (int64_t j = unit_begin; j < unit_end; ++j) {
                    double zij = bs[j];
                    for (int64_t p = 0; p < in; ++p) zij += xs[i * in + p] * ws[p * units + j];
                    total += upstream[i * units + j] * RefActivation(act, zij);
                  }
                }
                return total;
              };
              const auto derivative = [&](double& parameter, const auto& f) {
                const double saved = parameter;
                const double g = CentralDifference(
                    [&](double v) {
                      parameter = v;
                      return f();
                    },
                    saved);
                parameter = saved;
                return g;
              };
              // dz's bound per element, and its sums over what each gradient adds up.
              std::vector<double> dz_tolerance(rows * units), dz_magnitude(rows * units);
              for (int64_t e = 0; e < rows * units; ++e) {
                const double zv = r.z[e];
                const double f = RefActivation(act, zv);
                const double fp = testing::RefActivationDerivative(act, zv);
                dz_magnitude[e] = std::fabs(upstream[e] * fp);
                dz_tolerance[e] =
                    std::fabs(upstream[e]) * (FormulaTolerance(zv, fp) +
                                              2 * FormulaTolerance(zv, f) + r.z_tolerance[e]) +
                    kFloatRoundoff * dz_magnitude[e];
              }
              std::vector<double> dw_ref(in * units), dw_tol(in * units);
              for (int64_t p = 0; p < in; ++p) {
                for (int64_t j = 0; j < units; ++j) {
                  dw_ref[p * units + j] =
                      derivative(ws[p * units + j], [&] { return loss(0, rows, j, j + 1); });
                  double carried = 0.0, magnitude = 0.0;
                  for (int64_t i = 0; i < rows; ++i) {
                    carried += std::fabs(d.x[i * in + p]) * dz_tolerance[i * units + j];
                    magnitude += std::fabs(d.x[i * in + p]) * dz_magnitude[i * units + j];
                  }
                  dw_tol[p * units + j] = carried + (rows + 2) * kFloatRoundoff * magnitude;
                }
              }
              std::vector<double> db_ref(units), db_tol(units);
              for (int64_t j = 0; j < units; ++j) {
                db_ref[j] = derivative(bs[j], [&] { return loss(0, rows, j, j + 1); });
                double carried = 0.0, magnitude = 0.0;
                for (int64_t i = 0; i < rows; ++i) {
                  carried += dz_tolerance[i * units + j];
                  magnitude += dz_magnitude[i * units + j];
                }
                db_tol[j] = carried + rows * kFloatRoundoff * magnitude;
              }
              std::vector<double> dx_ref(rows * in), dx_tol(rows * in);
              for (int64_t i = 0; i < rows; ++i) {
                for (int64_t p = 0; p < in; ++p) {
                  dx_ref[i * in + p] =
                      derivative(xs[i * in + p], [&] { return loss(i, i + 1, 0, units); });
                  double carried = 0.0, magnitude = 0.0;
                  for (int64_t j = 0; j < units; ++j) {
                    carried += std::fabs(d.w[p * units + j]) * dz_tolerance[i * units + j];
                    magnitude += std::fabs(d.w[p * units + j]) * dz_magnitude[i * units + j];
                  }
                  dx_tol[i * in + p] = carried + (units + 2) * kFloatRoundoff * magnitude;
                }
              }
              ExpectClose(
                  dw_ref, dw.ToHost(), [&](size_t e) { return dw_tol[e]; }, "dL/dw");
              ExpectClose(
                  db_ref, db.ToHost(), [&](size_t e) { return db_tol[e]; }, "dL/db");
              ExpectClose(
                  dx_ref, dx.ToHost(), [&](size_t e) { return dx_tol[e]; }, "dL/dx");
            }});
}

void AddValidation() {
  Register({.name = "dense.validation", .family = "dense", .validation = [](Context& c) {
              using testing::ExpectThrowsWith;
              const Tensor x(c.backend(), {2, 3}), w(c.backend(), {3, 4});
              const Tensor wrong_bias(c.backend(), {5}), bias(c.backend(), {4});
              Tensor z(c.backend(), {2, 4}), a(c.backend(), {2, 4}), small(c.backend(), {2, 3});
              ExpectThrowsWith<std::invalid_argument>(
                  [&] { ops::DenseForward(x, w, wrong_bias, Activation::kTanh, z, a); },
                  {"DenseForward", "bias [5]", "[2 x 4]"});
              ExpectThrowsWith<std::invalid_argument>(
                  [&] { ops::DenseForward(x, x, bias, Activation::kTanh, z, a); },
                  {"Gemm", "[2 x 3]", "does not conform"});
              ExpectThrowsWith<std::invalid_argument>(
                  [&] { ops::DenseForward(x, w, bias, Activation::kTanh, z, small); },
                  {"DenseForward", "a [2 x 3]"});
            }});
}

const Registrar kCases([] {
  for (const Activation act : kActivations) {
    for (const int64_t rows : kRows) {
      AddForward(act, rows, 37, 33, /*in_place=*/false);
      AddGradient(act, rows);
    }
    AddForward(act, 7, 0, 33, /*in_place=*/false);      // z = bias, no GEMM
    AddForward(act, 1000, 100, 1, /*in_place=*/false);  // Dense(1): the logits layer
    AddForward(act, 33, 37, 33, /*in_place=*/true);     // a aliases z
  }
  AddValidation();
});

}  // namespace
}  // namespace fanin::harness
