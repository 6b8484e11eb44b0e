// Every Backend op on the GPU against the CPU backend, forward and backward, on batches of
// 1, 7, 33 and 1000 rows (one row, less than a warp, just over a warp, many blocks).
//
// Tolerances. u = 2^-24 is float's unit roundoff. Where both backends perform the same
// IEEE operations the test asks for the same bits. Elsewhere each tolerance is a bound
// derived from the differences that are allowed:
//   - nvcc contracts a*b + c into one FMA (one rounding instead of two): up to u of |a*b|;
//   - CUDA's expf/tanhf/logf/log1pf are within 2 ulp, glibc's within 1: a few u relative;
//   - sums in another order (cuBLAS, the column reductions): |error| <= n u sum|terms|
//     for n terms on each side (the classic gamma_n bound), so 2 n u sum|terms| between them.
#include "fanin/ops.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "../nan_rule.h"
#include "cuda_test_util.h"

namespace fanin::testing {
namespace {

class CudaOpsTest : public CudaTest, public ::testing::WithParamInterface<int64_t> {
 protected:
  int64_t rows() const { return GetParam(); }
};

// Widths: one column, a warp and one (a partial column tile), several tiles.
constexpr int64_t kWidths[] = {1, 33, 257};

std::string Name(Activation act, int64_t cols) {
  return std::string(ActivationName(act)) + " cols=" + std::to_string(cols);
}

// Pre-activations in [-6, 6] plus the extremes that exercise exp overflow and underflow.
std::vector<float> PreActivations(int64_t n, uint32_t seed) {
  std::vector<float> z = RandomFloats(static_cast<size_t>(n), -6.0f, 6.0f, seed);
  z[0] = -100.0f;
  if (n > 1) z[1] = 100.0f;
  if (n > 2) z[2] = 0.0f;
  return z;
}

TEST_P(CudaOpsTest, FillAndCopiesAreExact) {
  const std::vector<float> values = RandomFloats(rows() * 5, -3.0f, 3.0f, 1);
  auto [c, g] = Both({rows(), 5}, values);
  ExpectBitIdentical(values, g.ToHost(), "CopyFromHost/CopyToHost round trip");

  Tensor copy(gpu_, {rows(), 5});
  gpu_->CopyOnDevice(g.data(), copy.data(), g.size());
  ExpectBitIdentical(values, copy.ToHost(), "CopyOnDevice");

  ops::Fill(g, 0.3f);
  ops::Fill(c, 0.3f);
  ExpectBitIdentical(c.ToHost(), g.ToHost(), "Fill");

  // A view's copy lands at the view's offset only.
  Tensor last = copy.Rows(rows() - 1, rows());
  last.CopyFromHost(std::vector<float>(5, -1.0f));
  std::vector<float> expected = values;
  std::fill(expected.end() - 5, expected.end(), -1.0f);
  ExpectBitIdentical(expected, copy.ToHost(), "CopyFromHost into a row view");
}

// The same Philox values, bit for bit: the whole point of random.h.
TEST_P(CudaOpsTest, FillRandomIsBitIdentical) {
  const RandomSpec specs[] = {
      {RandomDistribution::kUniform, -1.0, 2.0, 42, 0},
      {RandomDistribution::kNormal, 0.5, 2.0, 7, 3},
      {RandomDistribution::kTruncatedNormal, 0.0, 0.05, 0xdeadbeefcafeULL, 11},
  };
  for (const RandomSpec& spec : specs) {
    Tensor c(cpu_, {rows(), 37}), g(gpu_, {rows(), 37});
    ops::FillRandom(c, spec);
    ops::FillRandom(g, spec);
    ExpectBitIdentical(
        c.ToHost(), g.ToHost(),
        "FillRandom distribution " + std::to_string(static_cast<int>(spec.distribution)));
  }
}

// c = alpha op(a) op(b) + beta c, both operand layouts, the batch as the outer dimension
// (forward: x W) and as the inner one (backward: x^T dz).
void CheckGemm(const std::shared_ptr<Backend>& cpu, const std::shared_ptr<Backend>& gpu, int64_t m,
               int64_t k, int64_t n, bool ta, bool tb, double input_rounding) {
  SCOPED_TRACE("m=" + std::to_string(m) + " k=" + std::to_string(k) + " n=" + std::to_string(n) +
               " ta=" + std::to_string(ta) + " tb=" + std::to_string(tb));
  const Shape a_shape = ta ? Shape{k, m} : Shape{m, k};
  const Shape b_shape = tb ? Shape{n, k} : Shape{k, n};
  const std::vector<float> a = RandomFloats(m * k, -1.0f, 1.0f, 11);
  const std::vector<float> b = RandomFloats(k * n, -1.0f, 1.0f, 12);
  const std::vector<float> c0 = RandomFloats(m * n, -1.0f, 1.0f, 13);
  const float alpha = 0.7f, beta = 0.3f;
  Tensor ca = Tensor::FromHost(cpu, a_shape, a), cb = Tensor::FromHost(cpu, b_shape, b);
  Tensor cc = Tensor::FromHost(cpu, {m, n}, c0);
  Tensor ga = Tensor::FromHost(gpu, a_shape, a), gb = Tensor::FromHost(gpu, b_shape, b);
  Tensor gc = Tensor::FromHost(gpu, {m, n}, c0);
  ops::Gemm(ca, ta, cb, tb, alpha, beta, cc);
  ops::Gemm(ga, ta, gb, tb, alpha, beta, gc);

  // Per element: 2 (k + 2) u (|alpha| sum_p |a_ip b_pj| + |beta c_ij|), the gamma bound of
  // a k-term dot product plus the alpha and beta roundings, on each side; with TF32 inputs
  // each product carries an extra relative error below 2 * input_rounding.
  const auto at = [&](int64_t i, int64_t p) { return ta ? a[p * m + i] : a[i * k + p]; };
  const auto bt = [&](int64_t p, int64_t j) { return tb ? b[j * k + p] : b[p * n + j]; };
  ExpectClose(
      cc.ToHost(), gc.ToHost(),
      [&](size_t e) {
        const int64_t i = static_cast<int64_t>(e) / n, j = static_cast<int64_t>(e) % n;
        double magnitude = 0.0;
        for (int64_t p = 0; p < k; ++p) magnitude += std::fabs(at(i, p) * bt(p, j));
        const double sum = alpha * magnitude + std::fabs(beta * c0[e]);
        return 2.0 * (k + 2) * kFloatRoundoff * sum + 2.0 * input_rounding * alpha * magnitude;
      },
      "Gemm");
}

TEST_P(CudaOpsTest, GemmMatchesCpu) {
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      CheckGemm(cpu_, gpu_, rows(), 37, 65, ta, tb, 0.0);
      CheckGemm(cpu_, gpu_, 37, rows(), 65, ta, tb, 0.0);
    }
  }
}

// TF32 is opt-in; with it the inputs lose all but 10 mantissa bits: a relative error
// below 2^-10 each, whether rounded or truncated.
TEST_P(CudaOpsTest, Tf32GemmIsWithinTf32Rounding) {
  const auto tf32 = MakeBackend("cuda", BackendOptions{.allow_tf32 = true});
  CheckGemm(cpu_, tf32, rows(), 37, 65, false, true, 0x1p-10);
  CheckGemm(cpu_, tf32, 37, rows(), 65, true, false, 0x1p-10);
}

TEST_P(CudaOpsTest, AxpyMatchesCpu) {
  const std::vector<float> x = RandomFloats(rows() * 3, -2.0f, 2.0f, 3);
  const std::vector<float> y = RandomFloats(rows() * 3, -2.0f, 2.0f, 4);
  auto [cx, gx] = Both({rows(), 3}, x);
  auto [cy, gy] = Both({rows(), 3}, y);
  ops::Axpy(-0.37f, cx, cy);
  ops::Axpy(-0.37f, gx, gy);
  // y + alpha x: one FMA on one side, a product and a sum on the other.
  ExpectClose(
      cy.ToHost(), gy.ToHost(),
      [&](size_t i) { return 2 * kFloatRoundoff * (std::fabs(y[i]) + std::fabs(0.37f * x[i])); },
      "Axpy");
}

// z + bias is one IEEE addition on both sides: the same bits. linear and relu are then
// exact too; sigmoid and tanh differ by the libraries' expf/tanhf, a few ulp: 1e-6
// relative (16 u), and 1e-37 absolute for sigmoid(-100), a denormal.
void ExpectActivationClose(Activation act, const std::vector<float>& cpu,
                           const std::vector<float>& gpu, const std::string& what) {
  if (act == Activation::kLinear || act == Activation::kRelu) {
    ExpectBitIdentical(cpu, gpu, what);
  } else {
    ExpectClose(cpu, gpu, 1e-6, 1e-37, what);
  }
}

TEST_P(CudaOpsTest, BiasActivationForwardMatchesCpu) {
  for (const int64_t cols : kWidths) {
    for (const Activation act : kActivations) {
      SCOPED_TRACE(Name(act, cols));
      const std::vector<float> z = PreActivations(rows() * cols, 5);
      const std::vector<float> bias = RandomFloats(cols, -1.0f, 1.0f, 6);
      auto [cb, gb] = Both({cols}, bias);
      // Separate output.
      auto [cz, gz] = Both({rows(), cols}, z);
      Tensor ca(cpu_, {rows(), cols}), ga(gpu_, {rows(), cols});
      ops::BiasActivationForward(act, cb, cz, ca);
      ops::BiasActivationForward(act, gb, gz, ga);
      ExpectBitIdentical(cz.ToHost(), gz.ToHost(), "z + bias");
      ExpectActivationClose(act, ca.ToHost(), ga.ToHost(), "a");
      // In place: a aliases z.
      auto [cz2, gz2] = Both({rows(), cols}, z);
      ops::BiasActivationForward(act, cb, cz2, cz2);
      ops::BiasActivationForward(act, gb, gz2, gz2);
      ExpectActivationClose(act, cz2.ToHost(), gz2.ToHost(), "a in place");
    }
  }
}

// DenseForward: on the GPU one cuBLASLt matmul with the bias in its epilogue, then the
// activation; on the CPU oneDNN's matmul with the bias (or the small-GEMM loop). z: the Gemm
// bound above with the bias in the place of beta c, 2 (k + 2) u (sum_p |x_ip w_pj| + |b_j|)
// (a k-term dot product and one more addition, on each side), plus the TF32 term. a = act(z):
// every activation has |act'| <= 1, so the z difference passes through at most unchanged,
// plus the libraries' difference of ExpectActivationClose (1e-6 relative, 1e-37 absolute).
// The outputs start as NaN on both sides: beta = 0 must mean z's old contents are not read.
// k = 0 is the empty sum (z = bias, no cuBLASLt call).
void CheckDenseForward(const std::shared_ptr<Backend>& cpu, const std::shared_ptr<Backend>& gpu,
                       int64_t rows, int64_t k, int64_t cols, Activation act, bool in_place,
                       double input_rounding) {
  SCOPED_TRACE(Name(act, cols) + " k=" + std::to_string(k) + (in_place ? " a aliases z" : ""));
  const std::vector<float> x = RandomFloats(rows * k, -1.0f, 1.0f, 21);
  const std::vector<float> w = RandomFloats(k * cols, -1.0f, 1.0f, 22);
  const std::vector<float> bias = RandomFloats(cols, -1.0f, 1.0f, 23);
  const std::vector<float> nans(rows * cols, std::numeric_limits<float>::quiet_NaN());
  Tensor cx = Tensor::FromHost(cpu, {rows, k}, x), gx = Tensor::FromHost(gpu, {rows, k}, x);
  Tensor cw = Tensor::FromHost(cpu, {k, cols}, w), gw = Tensor::FromHost(gpu, {k, cols}, w);
  Tensor cb = Tensor::FromHost(cpu, {cols}, bias), gb = Tensor::FromHost(gpu, {cols}, bias);
  Tensor cz = Tensor::FromHost(cpu, {rows, cols}, nans);
  Tensor gz = Tensor::FromHost(gpu, {rows, cols}, nans);
  Tensor ca = in_place ? cz : Tensor::FromHost(cpu, {rows, cols}, nans);
  Tensor ga = in_place ? gz : Tensor::FromHost(gpu, {rows, cols}, nans);
  ops::DenseForward(cx, cw, cb, act, cz, ca);
  ops::DenseForward(gx, gw, gb, act, gz, ga);

  const auto z_tolerance = [&](size_t e) {
    const int64_t i = static_cast<int64_t>(e) / cols, j = static_cast<int64_t>(e) % cols;
    double magnitude = 0.0;
    for (int64_t p = 0; p < k; ++p) magnitude += std::fabs(x[i * k + p] * w[p * cols + j]);
    return 2.0 * (k + 2) * kFloatRoundoff * (magnitude + std::fabs(bias[j])) +
           2.0 * input_rounding * magnitude;
  };
  const std::vector<float> c_a = ca.ToHost();
  if (!in_place) ExpectClose(cz.ToHost(), gz.ToHost(), z_tolerance, "z");
  ExpectClose(
      c_a, ga.ToHost(),
      [&](size_t e) {
        const double dz = z_tolerance(e);
        return dz + 1e-6 * (std::fabs(c_a[e]) + dz) + 1e-37;
      },
      in_place ? "a (= z)" : "a");
}

TEST_P(CudaOpsTest, DenseForwardMatchesCpu) {
  for (const int64_t cols : kWidths) {
    for (const Activation act : kActivations) {
      for (const int64_t k : {0, 1, 7, 100}) {
        CheckDenseForward(cpu_, gpu_, rows(), k, cols, act, /*in_place=*/false, 0.0);
      }
    }
  }
  // a aliases z (the layer's own call for linear): every activation, one width.
  for (const Activation act : kActivations) {
    CheckDenseForward(cpu_, gpu_, rows(), 7, 33, act, /*in_place=*/true, 0.0);
  }
}

// The same through CUBLAS_COMPUTE_32F_FAST_TF32 (see Tf32GemmIsWithinTf32Rounding).
TEST_P(CudaOpsTest, Tf32DenseForwardIsWithinTf32Rounding) {
  const auto tf32 = MakeBackend("cuda", BackendOptions{.allow_tf32 = true});
  for (const Activation act : {Activation::kLinear, Activation::kTanh}) {
    CheckDenseForward(cpu_, tf32, rows(), 100, 33, act, /*in_place=*/false, 0x1p-10);
  }
}

TEST_P(CudaOpsTest, ActivationForwardMatchesCpu) {
  for (const Activation act : kActivations) {
    SCOPED_TRACE(Name(act, 33));
    const std::vector<float> z = PreActivations(rows() * 33, 7);
    auto [cz, gz] = Both({rows(), 33}, z);
    Tensor ca(cpu_, {rows(), 33}), ga(gpu_, {rows(), 33});
    ops::ActivationForward(act, cz, ca);
    ops::ActivationForward(act, gz, ga);
    ExpectActivationClose(act, ca.ToHost(), ga.ToHost(), "a");
    ExpectBitIdentical(z, gz.ToHost(), "z untouched");
    ops::ActivationForward(act, gz, gz);
    ExpectActivationClose(act, ca.ToHost(), gz.ToHost(), "a in place");
  }
}

// Both sides get the same z, a and da. dz = da act'(a or z): exact for linear, relu and
// sigmoid (the same products), and for tanh 1 - a^2 may be one FMA on the GPU: an
// absolute u on act', so |dz| tolerance 2 u (|da| + |dz|). The bias gradient sums `rows`
// of those in another order: sum of the dz tolerances + 2 rows u sum |dz|.
TEST_P(CudaOpsTest, ActivationBackwardMatchesCpu) {
  for (const int64_t cols : kWidths) {
    for (const Activation act : kActivations) {
      SCOPED_TRACE(Name(act, cols));
      const int64_t n = rows() * cols;
      auto [cz, gz] = Both({rows(), cols}, PreActivations(n, 8));
      Tensor ca(cpu_, {rows(), cols});
      ops::ActivationForward(act, cz, ca);
      const std::vector<float> a = ca.ToHost();
      Tensor ga = Tensor::FromHost(gpu_, {rows(), cols}, a);
      const std::vector<float> da = RandomFloats(n, -1.0f, 1.0f, 9);
      auto [cda, gda] = Both({rows(), cols}, da);
      Tensor cdz(cpu_, {rows(), cols}), gdz(gpu_, {rows(), cols});
      Tensor cdb(cpu_, {cols}), gdb(gpu_, {cols});
      ops::ActivationBackward(act, cz, ca, cda, cdz, &cdb);
      ops::ActivationBackward(act, gz, ga, gda, gdz, &gdb);
      const std::vector<float> dz = cdz.ToHost();
      const auto dz_tolerance = [&](size_t i) {
        return 2 * kFloatRoundoff * (std::fabs(da[i]) + std::fabs(dz[i]));
      };
      ExpectClose(dz, gdz.ToHost(), dz_tolerance, "dz");
      ExpectClose(
          cdb.ToHost(), gdb.ToHost(),
          [&](size_t c) {
            double tolerance = 0.0, magnitude = 0.0;
            for (int64_t r = 0; r < rows(); ++r) {
              tolerance += dz_tolerance(r * cols + c);
              magnitude += std::fabs(dz[r * cols + c]);
            }
            return tolerance + 2.0 * rows() * kFloatRoundoff * magnitude;
          },
          "bias_grad");

      // dz aliasing da, and no bias gradient.
      ops::ActivationBackward(act, gz, ga, gda, gda, nullptr);
      ExpectClose(dz, gda.ToHost(), dz_tolerance, "dz in place");
    }
  }
}

// Loss sum, correct count and gradient in one call, into one slot of a longer totals.
void CheckBce(const std::shared_ptr<Backend>& cpu, const std::shared_ptr<Backend>& gpu,
              BceInput input, const std::vector<float>& output, const std::vector<float>& labels) {
  const auto n = static_cast<int64_t>(output.size());
  const float scale = 1.0f / static_cast<float>(n);
  Tensor co = Tensor::FromHost(cpu, {n, 1}, output), go = Tensor::FromHost(gpu, {n, 1}, output);
  Tensor cy = Tensor::FromHost(cpu, {n, 1}, labels), gy = Tensor::FromHost(gpu, {n, 1}, labels);
  Tensor cg(cpu, {n, 1}), gg(gpu, {n, 1});
  const std::vector<float> sentinel(6, -1.0f);
  Tensor ct = Tensor::FromHost(cpu, {6}, sentinel), gt = Tensor::FromHost(gpu, {6}, sentinel);
  ops::BinaryCrossEntropy(input, co, cy, scale, &cg, ct, 1);
  ops::BinaryCrossEntropy(input, go, gy, scale, &gg, gt, 1);
  const std::vector<float> c_totals = ct.ToHost(), g_totals = gt.ToHost();

  // Per-sample losses are floats built from expf/log1pf/logf (a few ulp apart) and an
  // a*b + c that may be one FMA: 1e-6 of the sum of the terms' magnitudes, plus the final
  // rounding of the double sum to float on each side.
  double magnitude = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double z = output[i], y = labels[i];
    if (input == BceInput::kLogits) {
      magnitude += std::max(z, 0.0) + std::fabs(z * y) + std::log1p(std::exp(-std::fabs(z)));
    } else {
      const double p = std::clamp(z, 1e-7, 1.0 - 1e-7);
      magnitude += std::fabs(y * std::log(p)) + std::fabs((1.0 - y) * std::log(1.0 - p));
    }
  }
  EXPECT_NEAR(g_totals[2], c_totals[2], 1e-6 * magnitude + 2 * kFloatRoundoff * c_totals[2])
      << "loss sum";
  EXPECT_EQ(g_totals[3], c_totals[3]) << "correct count";
  for (int i : {0, 1, 4, 5}) EXPECT_EQ(g_totals[i], -1.0f) << "totals[" << i << "] written";

  // Logits: (sigmoid(z) - y) scale with sigmoid a few ulp apart (|sigmoid| <= 1): 8 u
  // |scale|. Probabilities: (p - y) / (p (1 - p)) scale, the same IEEE operations: 4 u.
  const std::vector<float> grad = cg.ToHost();
  if (input == BceInput::kLogits) {
    ExpectClose(grad, gg.ToHost(), 0.0, 8 * kFloatRoundoff * scale, "grad from logits");
  } else {
    ExpectClose(grad, gg.ToHost(), 4 * kFloatRoundoff, 0.0, "grad from probabilities");
  }
}

TEST_P(CudaOpsTest, BinaryCrossEntropyMatchesCpu) {
  const int64_t n = rows();
  std::vector<float> labels(n);
  for (int64_t i = 0; i < n; ++i) labels[i] = i % 3 == 0 ? 1.0f : (i % 3 == 1 ? 0.0f : 0.3f);

  std::vector<float> logits = RandomFloats(n, -8.0f, 8.0f, 21);
  const float logit_extremes[] = {-100.0f, 100.0f, 0.0f, -20.0f, 20.0f};
  for (int64_t i = 0; i < std::min<int64_t>(n, 5); ++i) logits[i] = logit_extremes[i];
  CheckBce(cpu_, gpu_, BceInput::kLogits, logits, labels);

  // Probabilities, with values on and beyond the clip bounds [1e-7, 1 - 1e-7].
  std::vector<float> probabilities = RandomFloats(n, 0.001f, 0.999f, 22);
  const float p_extremes[] = {0.0f, 1.0f, 1e-7f, 1e-9f, 0.5f};
  for (int64_t i = 0; i < std::min<int64_t>(n, 5); ++i) probabilities[i] = p_extremes[i];
  CheckBce(cpu_, gpu_, BceInput::kProbabilities, probabilities, labels);
}

// Three steps of each SGD variant, fresh gradients each step. Every step is a few float
// operations per element, some of which the GPU fuses into FMAs: a few u of the values
// involved (|p|, |v|, lr |g| <= 1 here) per step; 16 u (|p| + 1) over three steps.
TEST_P(CudaOpsTest, SgdMatchesCpu) {
  const SgdStep variants[] = {{0.1f, 0.0f, false}, {0.1f, 0.9f, false}, {0.1f, 0.9f, true}};
  for (const SgdStep& step : variants) {
    SCOPED_TRACE("momentum " + std::to_string(step.momentum) + " nesterov " +
                 std::to_string(step.nesterov));
    const int64_t n = rows() * 11;
    auto [cp, gp] = Both({n}, RandomFloats(n, -1.0f, 1.0f, 31));
    auto [cv, gv] = Both({n}, std::vector<float>(n, 0.0f));
    for (uint32_t t = 0; t < 3; ++t) {
      auto [cg, gg] = Both({n}, RandomFloats(n, -1.0f, 1.0f, 32 + t));
      ops::SgdUpdate(step, cp, cg, step.momentum != 0.0f ? &cv : nullptr);
      ops::SgdUpdate(step, gp, gg, step.momentum != 0.0f ? &gv : nullptr);
    }
    ExpectClose(cp.ToHost(), gp.ToHost(), 16 * kFloatRoundoff, 16 * kFloatRoundoff, "params");
    ExpectClose(cv.ToHost(), gv.ToHost(), 16 * kFloatRoundoff, 16 * kFloatRoundoff * 0.1,
                "velocity");
  }
}

// Three Adam steps. m and v: two products and a sum each (an FMA on the GPU), compounded
// over three steps: 8 u relative plus 8 u of the gradient's scale (|g| <= 1). The update
// lr_t m / (sqrt(v) + eps) inherits those relative errors; in the first steps lr_t <= lr
// and |m / sqrt(v)| <= 3.2: params within 16 u |p| + 3 steps * 3.2 lr * 16 u.
TEST_P(CudaOpsTest, AdamMatchesCpu) {
  const int64_t n = rows() * 11;
  auto [cp, gp] = Both({n}, RandomFloats(n, -1.0f, 1.0f, 41));
  auto [cm, gm] = Both({n}, std::vector<float>(n, 0.0f));
  auto [cv, gv] = Both({n}, std::vector<float>(n, 0.0f));
  const float lr = 0.01f;
  for (int64_t t = 1; t <= 3; ++t) {
    auto [cg, gg] = Both({n}, RandomFloats(n, -1.0f, 1.0f, 42 + static_cast<uint32_t>(t)));
    const AdamStep step{.learning_rate = lr, .t = t};
    ops::AdamUpdate(step, cp, cg, cm, cv);
    ops::AdamUpdate(step, gp, gg, gm, gv);
  }
  ExpectClose(cm.ToHost(), gm.ToHost(), 8 * kFloatRoundoff, 8 * kFloatRoundoff, "m");
  ExpectClose(cv.ToHost(), gv.ToHost(), 8 * kFloatRoundoff, 8 * kFloatRoundoff, "v");
  ExpectClose(cp.ToHost(), gp.ToHost(), 16 * kFloatRoundoff, 3 * 3.2 * lr * 16 * kFloatRoundoff,
              "params");
}

TEST_P(CudaOpsTest, GatherRowsIsExact) {
  const std::vector<float> values = RandomFloats(rows() * 13, -1.0f, 1.0f, 51);
  auto [cs, gs] = Both({rows(), 13}, values);
  // Reversed, then every row again in order: duplicates, and more rows than the source.
  std::vector<int64_t> indices(rows());
  std::iota(indices.rbegin(), indices.rend(), 0);
  for (int64_t r = 0; r < rows(); ++r) indices.push_back(r);
  const auto out_rows = static_cast<int64_t>(indices.size());
  Tensor cd(cpu_, {out_rows, 13}), gd(gpu_, {out_rows, 13});
  ops::GatherRows(cs, indices, cd);
  ops::GatherRows(gs, indices, gd);
  ExpectBitIdentical(cd.ToHost(), gd.ToHost(), "GatherRows");

  indices[0] = rows();  // one past the end
  EXPECT_THROW(ops::GatherRows(gs, indices, gd), std::out_of_range);
}

// count, NaN, Inf, min, max and the histogram are exact (the same values, the same double
// bin arithmetic). mean and std are double sums of n terms in another order: the gamma
// bound 2 n 2^-53 = n 2^-52 relative to the largest magnitude involved.
TEST_P(CudaOpsTest, StatsMatchCpu) {
  const int64_t n = rows() * 17;
  std::vector<float> mixed = RandomFloats(n, -2.0f, 3.0f, 61);
  mixed[0] = std::numeric_limits<float>::quiet_NaN();
  if (n > 1) mixed[n / 2] = std::numeric_limits<float>::infinity();
  if (n > 2) mixed[n - 1] = -std::numeric_limits<float>::infinity();
  const std::vector<float> constant(n, 0.25f);
  const std::vector<float> all_nan(rows(), std::numeric_limits<float>::quiet_NaN());
  auto [c1, g1] = Both({rows(), 17}, mixed);
  auto [c2, g2] = Both({n}, constant);
  auto [c3, g3] = Both({rows()}, all_nan);
  const Tensor* cpu_tensors[] = {&c1, &c2, &c3};
  const Tensor* gpu_tensors[] = {&g1, &g2, &g3};

  const HistogramSpec specs[] = {{0, true, 0.0f, 0.0f},
                                 {10, true, 0.0f, 0.0f},
                                 {7, false, -0.5f, 0.5f},
                                 {10000, true, 0.0f, 0.0f}};  // more bins than shared memory
  for (const HistogramSpec& spec : specs) {
    SCOPED_TRACE("bins " + std::to_string(spec.bins) + " auto " + std::to_string(spec.auto_range));
    const std::vector<TensorStats> cs = ops::Stats(cpu_tensors, spec);
    const std::vector<TensorStats> gs = ops::Stats(gpu_tensors, spec);
    ASSERT_EQ(gs.size(), 3u);
    for (size_t t = 0; t < 3; ++t) {
      SCOPED_TRACE("tensor " + std::to_string(t));
      EXPECT_EQ(gs[t].count, cs[t].count);
      EXPECT_EQ(gs[t].nan_count, cs[t].nan_count);
      EXPECT_EQ(gs[t].inf_count, cs[t].inf_count);
      EXPECT_EQ(gs[t].min, cs[t].min);
      EXPECT_EQ(gs[t].max, cs[t].max);
      const double scale = std::max(std::fabs(cs[t].min), std::fabs(cs[t].max));
      const double gamma = static_cast<double>(cs[t].count) * 0x1p-52;
      EXPECT_NEAR(gs[t].mean, cs[t].mean, gamma * scale);
      EXPECT_NEAR(gs[t].std, cs[t].std, gamma * (cs[t].std + scale));
      EXPECT_EQ(gs[t].hist_lo, cs[t].hist_lo);
      EXPECT_EQ(gs[t].hist_hi, cs[t].hist_hi);
      EXPECT_EQ(gs[t].histogram, cs[t].histogram);
    }
  }
}

// docs/design.md's NaN rule, the case tests/backend_test.cc runs on the CPU: on the GPU with
// fanin's kernels and with cuDNN's activations.
TEST_F(CudaTest, NanInNanOut) {
  ExpectNanInNanOut(gpu_);
  ExpectNanInNanOut(MakeBackend("cuda", {.cudnn_activations = true}));
}

INSTANTIATE_TEST_SUITE_P(Rows, CudaOpsTest, ::testing::Values(1, 7, 33, 1000),
                         [](const ::testing::TestParamInfo<int64_t>& info) {
                           return "rows" + std::to_string(info.param);
                         });

}  // namespace
}  // namespace fanin::testing
