// The activation ops' cases (tests/harness/harness.h), for every activation of the table
// (kActivations), so that a new table line is tested without a line here. Their tolerances are
// derived in ops/activation/tolerance.h.
#include <algorithm>  // ops/activation/reference.h uses std::clamp without including it
#include <cmath>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "fanin/ops.h"
#include "ops/activation/math.h"
#include "ops/activation/reference.h"
#include "ops/activation/tolerance.h"
#include "tests/expect_error.h"
#include "tests/harness/harness.h"
#include "tests/test_util.h"

namespace fanin::harness {
namespace {

using testing::ExpectBitIdentical;
using testing::ExpectClose;
using testing::kFloatRoundoff;
using testing::RefActivation;
using testing::RefActivationDerivative;

// Columns of the cases: just over a warp, and a partial tile of the CUDA reductions.
constexpr int64_t kCols = 33;
// Where an activation of the table has no derivative (relu at 0, hard_sigmoid at -3 and 3): a
// finite difference must not straddle one. A new activation with another kink adds it here.
const std::vector<float> kKinks = {-3.0f, 0.0f, 3.0f};

std::string Name(Activation act) { return std::string(ActivationName(act)); }

// U(-6, 6), where every activation bends, then the values that exercise exp's overflow and
// underflow (+-100, +-20), both zeros, and the kinks exactly (relu'(0) = 0, hard_sigmoid'(+-3)
// = 0 are conventions the reference shares).
std::vector<float> PreActivations(Context& context, int64_t n) {
  std::vector<float> z = context.Uniform(n, -6.0f, 6.0f);
  const float special[] = {-100.0f, 100.0f, 0.0f, -0.0f, 3.0f, -3.0f, -20.0f, 20.0f};
  for (size_t i = 0; i < std::size(special) && i < z.size(); ++i) z[i] = special[i];
  return z;
}

std::vector<double> Reference(Activation act, const std::vector<float>& z) {
  std::vector<double> a(z.size());
  for (size_t i = 0; i < z.size(); ++i) a[i] = RefActivation(act, z[i]);
  return a;
}

void ExpectActivation(Activation act, const std::vector<float>& z, const std::vector<float>& a,
                      const std::string& what) {
  const std::vector<double> expected = Reference(act, z);
  if (Exact(act)) return ExpectClose(expected, a, 0.0, 0.0, what);
  ExpectClose(
      expected, a, [&](size_t i) { return FormulaTolerance(z[i], expected[i]); }, what);
}

void AddForward(Activation act, int64_t rows, bool in_place) {
  Register(
      {.name = "activation.forward/" + Name(act) + (in_place ? "/in_place/" : "/") + RowsName(rows),
       .family = "activation",
       .value = [=](Context& c) -> Instance {
         const std::vector<float> z0 = PreActivations(c, rows * kCols);
         Tensor z = c.Make({rows, kCols}, z0);
         Tensor a = in_place ? z : Tensor(c.backend(), {rows, kCols});
         return {.op = [=]() mutable { ops::ActivationForward(act, z, a); },
                 .check =
                     [=] {
                       ExpectActivation(act, z0, a.ToHost(), "a");
                       if (!in_place) ExpectBitIdentical(z0, z.ToHost(), "z untouched");
                     }};
       }});
}

void AddBiasForward(Activation act, int64_t rows, bool in_place) {
  Register({.name = "activation.bias_forward/" + Name(act) + (in_place ? "/in_place/" : "/") +
                    RowsName(rows),
            .family = "activation",
            .value = [=](Context& c) -> Instance {
              const std::vector<float> z0 = PreActivations(c, rows * kCols);
              const std::vector<float> bias = c.Uniform(kCols, -1.0f, 1.0f);
              Tensor z = c.Make({rows, kCols}, z0);
              const Tensor b = c.Make({kCols}, bias);
              Tensor a = in_place ? z : Tensor(c.backend(), {rows, kCols});
              return {.op = [=]() mutable { ops::BiasActivationForward(act, b, z, a); },
                      .check =
                          [=] {
                            std::vector<float> biased(z0.size());
                            for (size_t i = 0; i < z0.size(); ++i)
                              biased[i] = z0[i] + bias[i % kCols];
                            ExpectActivation(act, biased, a.ToHost(), "a");
                            if (!in_place) ExpectBitIdentical(biased, z.ToHost(), "z + bias");
                          }};
            }});
}

// dz = da act'(z) and its column sums. Value: from z and a = f(z) rounded once (the backward
// op reads whichever its formula needs) against the reference derivative. Gradient: from the
// backend's own forward output, against the finite difference of the reference f.
enum class BackwardMode { kNoBiasGrad, kBiasGrad, kInPlace };

struct BackwardResult {
  std::vector<float> z, da, dz, bias_grad;
};

// Expects dz = da * derivative(i) within dz_tolerance(i), and the bias gradient to be its column
// sums: a float sum of `rows` terms errs by at most rows u sum |terms| (the gamma bound, in any
// order), plus the terms' own tolerances.
void ExpectBackward(const BackwardResult& r, int64_t rows, int64_t cols,
                    const std::vector<double>& derivative,
                    const std::function<double(size_t)>& dz_tolerance, bool with_bias_grad) {
  std::vector<double> dz(r.z.size());
  for (size_t i = 0; i < dz.size(); ++i) dz[i] = r.da[i] * derivative[i];
  ExpectClose(dz, r.dz, dz_tolerance, "dz");
  if (!with_bias_grad) return;
  std::vector<double> sums(cols, 0.0), tolerances(cols, 0.0), magnitudes(cols, 0.0);
  for (size_t i = 0; i < dz.size(); ++i) {
    sums[i % cols] += dz[i];
    tolerances[i % cols] += dz_tolerance(i);
    magnitudes[i % cols] += std::fabs(dz[i]);
  }
  ExpectClose(
      sums, r.bias_grad,
      [&](size_t j) {
        return tolerances[j] + static_cast<double>(rows) * kFloatRoundoff * magnitudes[j];
      },
      "bias_grad");
}

void AddBackward(Activation act, int64_t rows, int64_t cols, BackwardMode mode) {
  const char* mode_name = mode == BackwardMode::kNoBiasGrad ? "no_bias_grad"
                          : mode == BackwardMode::kBiasGrad ? "bias_grad"
                                                            : "in_place";
  const bool with_bias_grad = mode != BackwardMode::kNoBiasGrad;
  OpCase op_case{.name = "activation.backward/" + Name(act) + "/" + mode_name +
                         "/cols=" + std::to_string(cols) + "/" + RowsName(rows),
                 .family = "activation"};
  op_case.value = [=](Context& c) -> Instance {
    const std::vector<float> z0 = PreActivations(c, rows * cols);
    std::vector<float> a0(z0.size());
    for (size_t i = 0; i < z0.size(); ++i) a0[i] = static_cast<float>(RefActivation(act, z0[i]));
    const std::vector<float> da0 = c.Uniform(rows * cols, -2.0f, 2.0f);
    const Tensor z = c.Make({rows, cols}, z0), a = c.Make({rows, cols}, a0);
    Tensor da = c.Make({rows, cols}, da0);
    Tensor dz = mode == BackwardMode::kInPlace ? da : Tensor(c.backend(), {rows, cols});
    Tensor bias_grad(c.backend(), {cols});
    return {.op =
                [=]() mutable {
                  ops::ActivationBackward(act, z, a, da, dz, with_bias_grad ? &bias_grad : nullptr);
                },
            .check =
                [=] {
                  std::vector<double> derivative(z0.size());
                  for (size_t i = 0; i < z0.size(); ++i) {
                    derivative[i] = RefActivationDerivative(act, z0[i]);
                  }
                  ExpectBackward(
                      {z0, da0, dz.ToHost(),
                       with_bias_grad ? bias_grad.ToHost() : std::vector<float>{}},
                      rows, cols, derivative,
                      [&](size_t i) {
                        if (Exact(act)) return 0.0;
                        return std::fabs(da0[i]) * FormulaTolerance(z0[i], derivative[i]) +
                               kFloatRoundoff * std::fabs(da0[i] * derivative[i]);
                      },
                      with_bias_grad);
                }};
  };
  // The backward op against the forward op, as a training step pairs them: a derivative read
  // from a (sigmoid's a (1 - a), tanh's 1 - a^2) has slope at most 2 in a, so a's forward error
  // adds twice the forward tolerance to f'. The finite difference itself is exact to ~1e-9
  // here (harness.h), below every bound.
  if (mode == BackwardMode::kBiasGrad) {
    op_case.gradient = [=](Context& c) {
      const std::vector<float> z0 = AwayFrom(PreActivations(c, rows * cols), kKinks, 1e-3f);
      const std::vector<float> da0 = c.Uniform(rows * cols, -2.0f, 2.0f);
      const Tensor z = c.Make({rows, cols}, z0), da = c.Make({rows, cols}, da0);
      Tensor a(c.backend(), {rows, cols}), dz(c.backend(), {rows, cols});
      Tensor bias_grad(c.backend(), {cols});
      ops::ActivationForward(act, z, a);
      ops::ActivationBackward(act, z, a, da, dz, &bias_grad);
      std::vector<double> derivative(z0.size());
      for (size_t i = 0; i < z0.size(); ++i) {
        derivative[i] = CentralDifference([&](double x) { return RefActivation(act, x); }, z0[i]);
      }
      ExpectBackward(
          {z0, da0, dz.ToHost(), bias_grad.ToHost()}, rows, cols, derivative,
          [&](size_t i) {
            const double f = RefActivation(act, z0[i]);
            return std::fabs(da0[i]) *
                       (FormulaTolerance(z0[i], derivative[i]) + 2 * FormulaTolerance(z0[i], f)) +
                   kFloatRoundoff * std::fabs(da0[i] * derivative[i]);
          },
          /*with_bias_grad=*/true);
    };
  }
  Register(std::move(op_case));
}

// docs/design.md's NaN rule: a NaN in z reaches a, dz and its bias-gradient column; a NaN in da
// reaches dz and its column; nothing else turns into NaN. Rows of 3 columns; NaN in z at (0, 0)
// and in da at (1, 2); z also holds -0, 0, negative and positive values, so relu's zero branch
// meets the NaN of da. A NaN that an op turned into a number would hide the first sign of a
// diverging run from the statistics that are meant to show it.
void ExpectNanExactlyAt(const std::vector<float>& values, const std::vector<bool>& nan_at,
                        const std::string& what) {
  ASSERT_EQ(values.size(), nan_at.size()) << what;
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(std::isnan(values[i]), static_cast<bool>(nan_at[i]))
        << what << " [" << i << "] = " << values[i];
  }
}

void AddNanRule(Activation act) {
  Register({.name = "activation.nan_rule/" + Name(act),
            .family = "activation",
            .value = [=](Context& c) -> Instance {
              constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
              const int64_t rows = 3, cols = 3;
              Tensor z = c.Make({rows, cols}, {kNaN, -1, 2, -0.0f, 0.5f, -3, 0, 4, -2});
              const Tensor zero_bias = c.Make({cols}, {0, 0, 0});
              const Tensor da = c.Make({rows, cols}, {1, 1, 1, 1, 1, kNaN, 1, 1, 1});
              Tensor a(c.backend(), {rows, cols}), a2(c.backend(), {rows, cols});
              Tensor dz(c.backend(), {rows, cols}), bias_grad(c.backend(), {cols});
              return {.op =
                          [=]() mutable {
                            ops::BiasActivationForward(act, zero_bias, z, a);
                            ops::ActivationForward(act, z, a2);
                            ops::ActivationBackward(act, z, a, da, dz, &bias_grad);
                          },
                      .check =
                          [=] {
                            std::vector<bool> z_nan(rows * cols, false);
                            z_nan[0] = true;
                            ExpectNanExactlyAt(a.ToHost(), z_nan, "BiasActivationForward a");
                            ExpectNanExactlyAt(a2.ToHost(), z_nan, "ActivationForward a");
                            // A derivative that reads neither z nor a (linear's) lets only da's
                            // NaN reach dz.
                            const bool reads = DerivativeReadsOf(act) != DerivativeReads::kNothing;
                            std::vector<bool> dz_nan(rows * cols, false);
                            dz_nan[0] = reads;
                            dz_nan[5] = true;
                            ExpectNanExactlyAt(dz.ToHost(), dz_nan, "ActivationBackward dz");
                            ExpectNanExactlyAt(bias_grad.ToHost(), {reads, false, true},
                                               "ActivationBackward bias_grad");
                          }};
            },
            .timed = false});
}

void AddValidation() {
  Register({.name = "activation.validation", .family = "activation", .validation = [](Context& c) {
              using testing::ExpectThrowsWith;
              Tensor z(c.backend(), {4, 3}), a(c.backend(), {4, 3}), bias(c.backend(), {4});
              Tensor small(c.backend(), {4, 2});
              ExpectThrowsWith<std::invalid_argument>(
                  [&] { ops::BiasActivationForward(Activation::kRelu, bias, z, a); },
                  {"BiasActivationForward", "bias [4]", "[4 x 3]"});
              ExpectThrowsWith<std::invalid_argument>(
                  [&] { ops::ActivationForward(Activation::kTanh, z, small); },
                  {"ActivationForward", "[4 x 3]", "[4 x 2]"});
              ExpectThrowsWith<std::invalid_argument>(
                  [&] { ops::ActivationBackward(Activation::kTanh, z, a, z, small, nullptr); },
                  {"ActivationBackward", "dz", "[4 x 2]"});
              ExpectThrowsWith<std::invalid_argument>(
                  [&] { ops::ActivationBackward(Activation::kTanh, z, a, z, a, &bias); },
                  {"ActivationBackward", "bias [4]", "[4 x 3]"});
            }});
}

const Registrar kCases([] {
  for (const Activation act : kActivations) {
    for (const int64_t rows : kRows) {
      AddForward(act, rows, /*in_place=*/false);
      AddBiasForward(act, rows, /*in_place=*/false);
      AddBackward(act, rows, kCols, BackwardMode::kNoBiasGrad);
      AddBackward(act, rows, kCols, BackwardMode::kBiasGrad);
    }
    // Aliasing (a = z, dz = da) on one batch and a large one.
    for (const int64_t rows : {int64_t{33}, int64_t{1000}}) {
      AddForward(act, rows, /*in_place=*/true);
      AddBiasForward(act, rows, /*in_place=*/true);
      AddBackward(act, rows, kCols, BackwardMode::kInPlace);
    }
    // One column (Dense(1): CUDA's narrow reduction) and several column tiles.
    for (const int64_t cols : {int64_t{1}, int64_t{257}}) {
      for (const int64_t rows : {int64_t{7}, int64_t{1000}}) {
        AddBackward(act, rows, cols, BackwardMode::kBiasGrad);
      }
    }
    AddNanRule(act);
  }
  AddValidation();
});

}  // namespace
}  // namespace fanin::harness
