// Tests of the CPU backend's primitives against plain double-precision references, on odd
// shapes (1, 7 and 33 rows or columns, so that no vector width or block size divides them),
// plus the tensor handle and the backend factory.

#include "fanin/backend.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "fanin/fanin.h"
#include "nan_rule.h"
#include "test_util.h"

namespace fanin {
namespace {

using testing::Cpu;
using testing::MakeTensor;
using testing::RandomFloats;
using testing::RefActivation;
using testing::RefActivationDerivative;
using testing::RefSigmoid;

constexpr int64_t kOddSizes[] = {1, 7, 33};
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// ---- Factory and tensors --------------------------------------------------------------------

TEST(BackendFactoryTest, NamesAndErrors) {
  const auto cpu = MakeBackend("cpu");
  EXPECT_EQ(cpu->name(), "cpu");
  EXPECT_FALSE(cpu->Describe().empty());
  EXPECT_EQ(HostBackend()->name(), "cpu");
  EXPECT_THROW(MakeBackend("tpu"), std::invalid_argument);
  if (!CudaAvailable()) {
    EXPECT_THROW(MakeBackend("cuda"), std::runtime_error);
    EXPECT_EQ(MakeBackend("auto")->name(), "cpu");
  }
}

TEST(ActivationNamesTest, ParseAndName) {
  for (Activation act : kActivations) EXPECT_EQ(ParseActivation(ActivationName(act)), act);
  EXPECT_EQ(ActivationName(Activation::kRelu), "relu");
  EXPECT_EQ(ParseActivation(""), Activation::kLinear);
  EXPECT_EQ(ParseActivation("none"), Activation::kLinear);
  try {
    ParseActivation("softmax");
    FAIL() << "no exception";
  } catch (const std::invalid_argument& error) {
    const std::string message = error.what();
    for (const Activation act : kActivations) {
      EXPECT_NE(message.find(ActivationName(act)), std::string::npos) << message;
    }
  }
}

TEST(TensorTest, ShapesViewsAndCopies) {
  EXPECT_EQ(ShapeToString({1000, 10}), "[1000 x 10]");
  EXPECT_EQ(ShapeSize({3, 0, 2}), 0);
  EXPECT_EQ(ShapeSize({3, 5, 2}), 30);
  EXPECT_THROW(ShapeSize({3, -1}), std::invalid_argument);

  const auto backend = Cpu();
  std::vector<float> values(33 * 7);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i);
  Tensor t = MakeTensor(backend, {33, 7}, values);
  EXPECT_EQ(t.rank(), 2);
  EXPECT_EQ(t.rows(), 33);
  EXPECT_EQ(t.cols(), 7);
  EXPECT_EQ(t.ToHost(), values);
  EXPECT_THROW(MakeTensor(backend, {33, 6}, values), std::invalid_argument);

  // Rows and View share storage with the parent, in both directions.
  Tensor rows = t.Rows(5, 8);
  EXPECT_EQ(rows.shape(), (Shape{3, 7}));
  EXPECT_EQ(rows.ToHost(), std::vector<float>(values.begin() + 35, values.begin() + 56));
  rows.CopyFromHost(std::vector<float>(21, -1.0f));
  std::vector<float> after = t.ToHost();
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i], i >= 35 && i < 56 ? -1.0f : values[i]) << i;
  }
  Tensor view = t.View(3, {2, 2});
  EXPECT_EQ(view.ToHost(), (std::vector<float>{3, 4, 5, 6}));
  Tensor reshaped = t.Reshape({7, 33});
  EXPECT_EQ(reshaped.data(), t.data());
  EXPECT_THROW(t.Reshape({7, 32}), std::invalid_argument);

  // Copies across backends and handles on the same backend.
  const auto other = Cpu(1);
  Tensor copy = t.To(other);
  EXPECT_EQ(copy.ToHost(), t.ToHost());
  EXPECT_EQ(t.To(backend).data(), t.data());
  Tensor dst(other, {33, 7});
  t.CopyTo(dst);
  EXPECT_EQ(dst.ToHost(), t.ToHost());
}

// ---- Fills ------------------------------------------------------------------------------------

TEST(BackendTest, FillAndFillRandomFollowTheStream) {
  const auto backend = Cpu();
  Tensor t(backend, {33, 7});
  ops::Fill(t, 2.5f);
  for (float v : t.ToHost()) EXPECT_EQ(v, 2.5f);

  for (RandomDistribution dist : {RandomDistribution::kUniform, RandomDistribution::kNormal,
                                  RandomDistribution::kTruncatedNormal}) {
    const RandomSpec spec{.distribution = dist, .a = -0.5, .b = 2.0, .seed = 31, .stream = 4};
    ops::FillRandom(t, spec);
    const std::vector<float> v = t.ToHost();
    for (size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i], RandomValue(spec, i)) << i;

    // On a view, element i of the view (not of the parent) gets value i; the rest stays.
    ops::Fill(t, 9.0f);
    Tensor rows = t.Rows(2, 5);
    ops::FillRandom(rows, spec);
    const std::vector<float> w = t.ToHost();
    for (size_t i = 0; i < w.size(); ++i) {
      if (i >= 14 && i < 35) {
        ASSERT_EQ(w[i], RandomValue(spec, i - 14)) << i;
      } else {
        ASSERT_EQ(w[i], 9.0f) << i;
      }
    }
  }
}

// ---- Linear algebra ---------------------------------------------------------------------------

TEST(BackendTest, GemmAllTransposesOddShapes) {
  const auto backend = Cpu();
  const float alpha = 0.75f, beta = -0.5f;
  uint32_t seed = 100;
  for (int64_t m : kOddSizes) {
    for (int64_t n : kOddSizes) {
      for (int64_t k : kOddSizes) {
        for (bool ta : {false, true}) {
          for (bool tb : {false, true}) {
            SCOPED_TRACE("m=" + std::to_string(m) + " n=" + std::to_string(n) +
                         " k=" + std::to_string(k) + " ta=" + std::to_string(ta) +
                         " tb=" + std::to_string(tb));
            const std::vector<float> a = RandomFloats(m * k, -1, 1, ++seed);
            const std::vector<float> b = RandomFloats(k * n, -1, 1, ++seed);
            const std::vector<float> c0 = RandomFloats(m * n, -1, 1, ++seed);
            // op(a)[i][p] and op(b)[p][j] read from the stored (possibly transposed) layout.
            auto opa = [&](int64_t i, int64_t p) { return ta ? a[p * m + i] : a[i * k + p]; };
            auto opb = [&](int64_t p, int64_t j) { return tb ? b[j * k + p] : b[p * n + j]; };
            const Tensor at = MakeTensor(backend, ta ? Shape{k, m} : Shape{m, k}, a);
            const Tensor bt = MakeTensor(backend, tb ? Shape{n, k} : Shape{k, n}, b);
            Tensor ct = MakeTensor(backend, {m, n}, c0);
            ops::Gemm(at, ta, bt, tb, alpha, beta, ct);
            const std::vector<float> c = ct.ToHost();
            for (int64_t i = 0; i < m; ++i) {
              for (int64_t j = 0; j < n; ++j) {
                double dot = 0.0, abs_sum = 0.0;
                for (int64_t p = 0; p < k; ++p) {
                  dot += static_cast<double>(opa(i, p)) * opb(p, j);
                  abs_sum += std::fabs(static_cast<double>(opa(i, p)) * opb(p, j));
                }
                const double expected = alpha * dot + beta * c0[i * n + j];
                // float32 dot product of k terms: error <= k * 2^-24 * sum|terms| (k <= 33),
                // plus the roundings of the alpha/beta combination.
                const double tol = 4e-6 * (abs_sum + std::fabs(c0[i * n + j])) + 1e-7;
                ASSERT_NEAR(c[i * n + j], expected, tol) << "c[" << i << "][" << j << "]";
              }
            }
          }
        }
      }
    }
  }
}

// Layers GEMM into freshly allocated (uninitialized) outputs with beta = 0: the old contents
// of c must then be ignored, not multiplied by zero (NaN * 0 is NaN), as BLAS specifies.
TEST(BackendTest, GemmWithZeroBetaIgnoresOldContents) {
  const auto backend = Cpu();
  const Tensor a = MakeTensor(backend, {7, 33}, RandomFloats(7 * 33, -1, 1, 1));
  const Tensor b = MakeTensor(backend, {33, 1}, RandomFloats(33, -1, 1, 2));
  Tensor c = MakeTensor(backend, {7, 1}, std::vector<float>(7, kNaN));
  ops::Gemm(a, false, b, false, 1.0f, 0.0f, c);
  for (float v : c.ToHost()) EXPECT_TRUE(std::isfinite(v));
}

// DenseForward fuses the bias into the GEMM: it must agree with the unfused composition
// (Gemm, then BiasActivationForward) to the rounding of one float GEMM, including k = 0
// (z = bias), and reject a bias of the wrong width.
TEST(BackendTest, DenseForwardMatchesGemmThenBiasActivation) {
  const auto backend = Cpu();
  uint32_t seed = 300;
  for (int64_t n : kOddSizes) {
    for (int64_t in : {int64_t{0}, int64_t{1}, int64_t{33}}) {
      for (int64_t units : kOddSizes) {
        for (Activation act : kActivations) {
          SCOPED_TRACE(std::string(ActivationName(act)) + " n=" + std::to_string(n) +
                       " in=" + std::to_string(in) + " units=" + std::to_string(units));
          const Tensor x = MakeTensor(backend, {n, in}, RandomFloats(n * in, -1, 1, ++seed));
          const Tensor w =
              MakeTensor(backend, {in, units}, RandomFloats(in * units, -1, 1, ++seed));
          const Tensor b = MakeTensor(backend, {units}, RandomFloats(units, -1, 1, ++seed));
          Tensor z(backend, {n, units}), a(backend, {n, units});
          Tensor z_ref(backend, {n, units}), a_ref(backend, {n, units});
          ops::DenseForward(x, w, b, act, z, a);
          ops::Gemm(x, false, w, false, 1.0f, 0.0f, z_ref);
          ops::BiasActivationForward(act, b, z_ref, a_ref);
          const std::vector<float> zs = z.ToHost(), zr = z_ref.ToHost();
          const std::vector<float> as = a.ToHost(), ar = a_ref.ToHost();
          for (size_t i = 0; i < zs.size(); ++i) {
            // |x w| <= in and |b| <= 1: float GEMM rounding <= in * 2^-24 * (in + 1).
            const double tol = 1e-7 * (in + 1) * (in + 1);
            ASSERT_NEAR(zs[i], zr[i], tol) << "z[" << i << "]";
            ASSERT_NEAR(as[i], ar[i], tol) << "a[" << i << "]";
          }
        }
      }
    }
  }
  const Tensor x = MakeTensor(backend, {2, 3}, RandomFloats(6, -1, 1, 1));
  const Tensor w = MakeTensor(backend, {3, 4}, RandomFloats(12, -1, 1, 2));
  const Tensor wrong_bias = MakeTensor(backend, {5}, RandomFloats(5, -1, 1, 3));
  Tensor z(backend, {2, 4}), a(backend, {2, 4});
  try {
    ops::DenseForward(x, w, wrong_bias, Activation::kTanh, z, a);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("[5]"), std::string::npos) << error.what();
  }
}

TEST(BackendTest, Axpy) {
  const auto backend = Cpu();
  for (int64_t rows : kOddSizes) {
    const std::vector<float> x = RandomFloats(rows * 7, -2, 2, 3);
    const std::vector<float> y0 = RandomFloats(rows * 7, -2, 2, 4);
    const Tensor xt = MakeTensor(backend, {rows, 7}, x);
    Tensor yt = MakeTensor(backend, {rows, 7}, y0);
    ops::Axpy(-1.25f, xt, yt);
    const std::vector<float> y = yt.ToHost();
    for (size_t i = 0; i < y.size(); ++i) {
      EXPECT_NEAR(y[i], y0[i] - 1.25 * x[i], 1e-6 * (std::fabs(y0[i]) + 1.25 * std::fabs(x[i])));
    }
  }
}

// ---- Activations -------------------------------------------------------------------------------

// Relu test inputs stay 1e-3 away from the kink so that the derivative is unambiguous.
std::vector<float> AwayFromZero(std::vector<float> v) {
  for (float& x : v) {
    if (std::fabs(x) < 1e-3f) x = x < 0 ? -1e-3f : 1e-3f;
  }
  return v;
}

TEST(BackendTest, BiasActivationForwardSeparateAndAliased) {
  const auto backend = Cpu();
  for (int64_t n : kOddSizes) {
    for (int64_t k : kOddSizes) {
      for (Activation act : kActivations) {
        for (bool alias : {false, true}) {
          SCOPED_TRACE(std::string(ActivationName(act)) + " n=" + std::to_string(n) +
                       " k=" + std::to_string(k) + (alias ? " aliased" : ""));
          const std::vector<float> z0 = RandomFloats(n * k, -4, 4, 10 + n + k);
          const std::vector<float> bias = RandomFloats(k, -1, 1, 20 + k);
          Tensor z = MakeTensor(backend, {n, k}, z0);
          const Tensor b = MakeTensor(backend, {k}, bias);
          Tensor a_separate(backend, {n, k});
          Tensor& a = alias ? z : a_separate;
          ops::BiasActivationForward(act, b, z, a);
          const std::vector<float> zs = z.ToHost();
          const std::vector<float> as = a.ToHost();
          for (int64_t i = 0; i < n; ++i) {
            for (int64_t j = 0; j < k; ++j) {
              const float pre = z0[i * k + j] + bias[j];  // one float rounding, as in the op
              if (!alias) {
                ASSERT_EQ(zs[i * k + j], pre) << i << "," << j;
              }
              ASSERT_NEAR(as[i * k + j], RefActivation(act, pre), 2e-6) << i << "," << j;
            }
          }
        }
      }
    }
  }
}

TEST(BackendTest, ActivationForwardSeparateAndAliased) {
  const auto backend = Cpu();
  for (Activation act : kActivations) {
    for (bool alias : {false, true}) {
      SCOPED_TRACE(std::string(ActivationName(act)) + (alias ? " aliased" : ""));
      // Includes saturating values, where a naive sigmoid would overflow exp.
      std::vector<float> z0 = RandomFloats(33 * 7, -6, 6, 7);
      z0[0] = -100.0f;
      z0[1] = 100.0f;
      z0[2] = 0.0f;
      Tensor z = MakeTensor(backend, {33, 7}, z0);
      Tensor a_separate(backend, {33, 7});
      Tensor& a = alias ? z : a_separate;
      ops::ActivationForward(act, z, a);
      const std::vector<float> as = a.ToHost();
      for (size_t i = 0; i < as.size(); ++i) {
        ASSERT_NEAR(as[i], RefActivation(act, z0[i]), 2e-6) << i;
      }
      if (!alias) {
        EXPECT_EQ(z.ToHost(), z0);
      }
    }
  }
}

TEST(BackendTest, ActivationBackwardWithAndWithoutBiasGrad) {
  const auto backend = Cpu();
  for (int64_t n : kOddSizes) {
    for (Activation act : kActivations) {
      for (int mode = 0; mode < 3; ++mode) {  // 0: no bias grad, 1: bias grad, 2: dz aliases da
        SCOPED_TRACE(std::string(ActivationName(act)) + " n=" + std::to_string(n) +
                     " mode=" + std::to_string(mode));
        const int64_t k = 7;
        const std::vector<float> z0 = AwayFromZero(RandomFloats(n * k, -4, 4, 30 + n));
        std::vector<float> a0(z0.size());
        for (size_t i = 0; i < z0.size(); ++i) {
          a0[i] = static_cast<float>(RefActivation(act, z0[i]));
        }
        const std::vector<float> da0 = RandomFloats(n * k, -2, 2, 40 + n);
        const Tensor z = MakeTensor(backend, {n, k}, z0);
        const Tensor a = MakeTensor(backend, {n, k}, a0);
        Tensor da = MakeTensor(backend, {n, k}, da0);
        Tensor dz_separate(backend, {n, k});
        Tensor& dz = mode == 2 ? da : dz_separate;
        Tensor bias_grad = MakeTensor(backend, {k}, std::vector<float>(k, kNaN));
        ops::ActivationBackward(act, z, a, da, dz, mode >= 1 ? &bias_grad : nullptr);
        const std::vector<float> dzs = dz.ToHost();
        std::vector<double> column_sums(k, 0.0);
        for (int64_t i = 0; i < n; ++i) {
          for (int64_t j = 0; j < k; ++j) {
            const double expected = da0[i * k + j] * RefActivationDerivative(act, z0[i * k + j]);
            column_sums[j] += expected;
            ASSERT_NEAR(dzs[i * k + j], expected, 2e-6 * std::fabs(da0[i * k + j]) + 1e-7)
                << i << "," << j;
          }
        }
        const std::vector<float> bg = bias_grad.ToHost();
        for (int64_t j = 0; j < k; ++j) {
          if (mode >= 1) {
            EXPECT_NEAR(bg[j], column_sums[j], 1e-5 * n) << "bias grad " << j;
          } else {
            EXPECT_TRUE(std::isnan(bg[j])) << "bias grad written although not asked for";
          }
        }
      }
    }
  }
}

// ---- Binary cross-entropy
// -------------------------------------------------------------------------

struct BceResult {
  double loss_sum;
  double correct;
  std::vector<float> grad;
};

BceResult RunBce(const std::shared_ptr<Backend>& backend, BceInput input,
                 const std::vector<float>& out, const std::vector<float>& labels,
                 float grad_scale) {
  const int64_t n = static_cast<int64_t>(out.size());
  const Tensor o = MakeTensor(backend, {n, 1}, out);
  const Tensor y = MakeTensor(backend, {n, 1}, labels);
  Tensor grad(backend, {n, 1});
  Tensor totals = MakeTensor(backend, {2}, {kNaN, kNaN});
  ops::BinaryCrossEntropy(input, o, y, grad_scale, &grad, totals, 0);
  const std::vector<float> t = totals.ToHost();
  return {t[0], t[1], grad.ToHost()};
}

// Above kParallelMinElements (2^17) the element-wise ops split over threads: column bands
// for the bias gradient, flat chunks otherwise. The split must not change a single bit, and
// the bands must cover every column once (1001 columns: not a multiple of the 16-column
// grain). Reference values are checked by the small-shape tests above.
TEST(BackendTest, LargeElementwiseOpsGiveTheSameBitsOnOneAndTwoThreads) {
  const int64_t rows = 300, cols = 1001;
  const std::vector<float> z0 = AwayFromZero(RandomFloats(rows * cols, -4, 4, 90));
  const std::vector<float> da0 = RandomFloats(rows * cols, -2, 2, 91);
  const std::vector<float> bias0 = RandomFloats(cols, -1, 1, 92);
  struct Outputs {
    std::vector<float> a, dz, bias_grad, dz_no_bias, params;
  };
  auto run = [&](int threads, Activation act) {
    const auto backend = Cpu(threads);
    Tensor z = MakeTensor(backend, {rows, cols}, z0);
    const Tensor bias = MakeTensor(backend, {cols}, bias0);
    Tensor a(backend, {rows, cols});
    ops::BiasActivationForward(act, bias, z, a);
    const Tensor da = MakeTensor(backend, {rows, cols}, da0);
    Tensor dz(backend, {rows, cols}), dz_no_bias(backend, {rows, cols});
    Tensor bias_grad(backend, {cols});
    ops::ActivationBackward(act, z, a, da, dz, &bias_grad);
    ops::ActivationBackward(act, z, a, da, dz_no_bias, nullptr);
    Tensor params = MakeTensor(backend, {rows, cols}, z0);
    ops::SgdUpdate({.learning_rate = 0.1f}, params, da, nullptr);
    return Outputs{a.ToHost(), dz.ToHost(), bias_grad.ToHost(), dz_no_bias.ToHost(),
                   params.ToHost()};
  };
  for (Activation act : kActivations) {
    SCOPED_TRACE(ActivationName(act));
    const Outputs one = run(1, act), two = run(2, act);
    EXPECT_EQ(one.a, two.a);
    EXPECT_EQ(one.dz, two.dz);
    EXPECT_EQ(one.dz_no_bias, two.dz);
    EXPECT_EQ(one.bias_grad, two.bias_grad);
    EXPECT_EQ(one.params, two.params);
    // Every column's bias gradient was written (none left at the allocator's contents).
    double column_sum = 0.0;
    for (int64_t r = 0; r < rows; ++r) column_sum += two.dz[r * cols + cols - 1];
    EXPECT_NEAR(two.bias_grad[cols - 1], column_sum, 1e-5 * rows);
  }
}

// docs/design.md's NaN rule, on the CPU (tests/cuda/ops_test.cc runs the same case on the GPU).
TEST(BackendTest, NanInNanOut) { testing::ExpectNanInNanOut(Cpu()); }

TEST(BackendTest, BceFromLogitsTotalsAndGradient) {
  const auto backend = Cpu();
  for (int64_t n : kOddSizes) {
    SCOPED_TRACE("n=" + std::to_string(n));
    const std::vector<float> z = RandomFloats(n, -10, 10, 50 + n);
    const std::vector<float> coin = RandomFloats(n, 0, 1, 60 + n);
    std::vector<float> y(n);
    for (int64_t i = 0; i < n; ++i) y[i] = coin[i] > 0.5f ? 1.0f : 0.0f;
    const float scale = 1.0f / static_cast<float>(n);
    const BceResult r = RunBce(backend, BceInput::kLogits, z, y, scale);
    double loss = 0.0, correct = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      loss += testing::RefBceLogit(z[i], y[i]);
      correct += (z[i] > 0) == (y[i] >= 0.5f);
      EXPECT_NEAR(r.grad[i], (RefSigmoid(z[i]) - y[i]) * scale, 1e-7) << i;
    }
    EXPECT_NEAR(r.loss_sum, loss, 1e-6 * n + 1e-6 * loss);
    EXPECT_EQ(r.correct, correct);
  }
}

// The stable form must be finite and exact for any float logit: the wrong side costs |z|,
// the right side nothing, and the gradient is exactly -1, 0 or 1 times the scale.
TEST(BackendTest, BceFromLogitsExtremeValues) {
  const auto backend = Cpu();
  struct Case {
    float z, y;
    double loss, grad;
  };
  for (const Case& c : {Case{1e4f, 0, 1e4, 1}, Case{1e4f, 1, 0, 0}, Case{-1e4f, 1, 1e4, -1},
                        Case{-1e4f, 0, 0, 0}, Case{1e30f, 0, 1e30, 1}, Case{-1e30f, 0, 0, 0},
                        Case{-1e30f, 1, 1e30, -1}, Case{1e4f, 0.25f, 7500, 0.75}}) {
    SCOPED_TRACE("z=" + std::to_string(c.z) + " y=" + std::to_string(c.y));
    const BceResult r = RunBce(backend, BceInput::kLogits, {c.z}, {c.y}, 0.5f);
    ASSERT_TRUE(std::isfinite(r.loss_sum));
    EXPECT_NEAR(r.loss_sum, c.loss, 1e-6 * c.loss);
    EXPECT_EQ(r.grad[0], static_cast<float>(c.grad * 0.5));
  }
  // Accuracy at the threshold: z = 0 predicts class 0 ("above 0" is class 1).
  EXPECT_EQ(RunBce(backend, BceInput::kLogits, {0.0f}, {0.0f}, 1.0f).correct, 1.0);
  EXPECT_EQ(RunBce(backend, BceInput::kLogits, {0.0f}, {1.0f}, 1.0f).correct, 0.0);
  EXPECT_NEAR(RunBce(backend, BceInput::kLogits, {0.0f}, {1.0f}, 1.0f).loss_sum, std::log(2.0),
              1e-7);
}

TEST(BackendTest, BceFromProbabilitiesAndClipping) {
  const auto backend = Cpu();
  const std::vector<float> p = RandomFloats(33, 0.01f, 0.99f, 70);
  std::vector<float> y(33);
  for (size_t i = 0; i < y.size(); ++i) y[i] = i % 2 == 0 ? 1.0f : 0.0f;
  const BceResult r = RunBce(backend, BceInput::kProbabilities, p, y, 0.25f);
  double loss = 0.0, correct = 0.0;
  for (size_t i = 0; i < p.size(); ++i) {
    loss += testing::RefBceProbability(p[i], y[i]);
    correct += (p[i] > 0.5f) == (y[i] >= 0.5f);
    const double g = (-y[i] / p[i] + (1 - y[i]) / (1 - p[i])) * 0.25;
    EXPECT_NEAR(r.grad[i], g, 1e-5 * std::fabs(g)) << i;
  }
  EXPECT_NEAR(r.loss_sum, loss, 1e-5 * loss);
  EXPECT_EQ(r.correct, correct);

  // Clipping to [1e-7, 1 - 1e-7]: the loss of a confident wrong answer is -log(1e-7) =
  // 16.118 (15.94 when 1 - 1e-7 is first rounded to float), never inf; a confident right
  // answer costs about 1e-7.
  for (float bad : {0.0f, 1e-12f}) {
    const BceResult wrong = RunBce(backend, BceInput::kProbabilities, {bad}, {1.0f}, 1.0f);
    EXPECT_NEAR(wrong.loss_sum, -std::log(1e-7), 1e-3);
    EXPECT_TRUE(std::isfinite(wrong.grad[0]));
  }
  const BceResult wrong_one = RunBce(backend, BceInput::kProbabilities, {1.0f}, {0.0f}, 1.0f);
  EXPECT_GE(wrong_one.loss_sum, 15.9);
  EXPECT_LE(wrong_one.loss_sum, 16.13);
  EXPECT_TRUE(std::isfinite(wrong_one.grad[0]));
  const BceResult right =
      RunBce(backend, BceInput::kProbabilities, {1.0f, 0.0f}, {1.0f, 0.0f}, 1.0f);
  EXPECT_LT(right.loss_sum, 1e-6);
  EXPECT_GT(right.loss_sum, 0.0);
  EXPECT_EQ(right.correct, 2.0);
}

TEST(BackendTest, BceWritesOnlyItsSlotAndWithoutGrad) {
  const auto backend = Cpu();
  const std::vector<float> z = {2.0f, -1.0f, 0.5f};
  const std::vector<float> y = {1.0f, 1.0f, 0.0f};
  const Tensor o = MakeTensor(backend, {3, 1}, z);
  const Tensor yt = MakeTensor(backend, {3, 1}, y);
  // Sentinels everywhere, including the slot itself: the op writes (does not add to) it.
  Tensor totals = MakeTensor(backend, {6}, std::vector<float>(6, 100.0f));
  ops::BinaryCrossEntropy(BceInput::kLogits, o, yt, 1.0f, nullptr, totals, 1);
  const std::vector<float> t = totals.ToHost();
  double loss = 0.0;
  for (int i = 0; i < 3; ++i) loss += testing::RefBceLogit(z[i], y[i]);
  EXPECT_EQ(t[0], 100.0f);
  EXPECT_EQ(t[1], 100.0f);
  EXPECT_NEAR(t[2], loss, 1e-6);
  EXPECT_EQ(t[3], 1.0f);  // only z = 2 (y = 1) is right
  EXPECT_EQ(t[4], 100.0f);
  EXPECT_EQ(t[5], 100.0f);
}

// ---- Optimizers ---------------------------------------------------------------------------------

// Each step's expectation is computed in double from the state the backend actually holds
// before the step, so the check isolates one step's formula (no drift between float and
// double over several steps).
TEST(BackendTest, SgdPlainMomentumNesterov) {
  const auto backend = Cpu();
  for (int variant = 0; variant < 3; ++variant) {
    SCOPED_TRACE("variant " + std::to_string(variant));
    const SgdStep step{
        .learning_rate = 0.1f, .momentum = variant == 0 ? 0.0f : 0.9f, .nesterov = variant == 2};
    Tensor p = MakeTensor(backend, {33}, RandomFloats(33, -1, 1, 80));
    Tensor v = MakeTensor(backend, {33}, std::vector<float>(33, 0.0f));
    for (int t = 0; t < 3; ++t) {
      const std::vector<float> g = RandomFloats(33, -1, 1, 90 + t);
      const Tensor gt = MakeTensor(backend, {33}, g);
      const std::vector<float> p0 = p.ToHost(), v0 = v.ToHost();
      ops::SgdUpdate(step, p, gt, variant == 0 ? nullptr : &v);
      const std::vector<float> p1 = p.ToHost(), v1 = v.ToHost();
      for (size_t i = 0; i < 33; ++i) {
        const double lr = step.learning_rate, mu = step.momentum;
        double vel = 0.0, expected;
        if (variant == 0) {
          expected = p0[i] - lr * g[i];
        } else {
          vel = mu * v0[i] - lr * g[i];
          expected = variant == 1 ? p0[i] + vel : p0[i] + mu * vel - lr * g[i];
          ASSERT_NEAR(v1[i], vel, 1e-6) << "velocity " << i << " step " << t;
        }
        ASSERT_NEAR(p1[i], expected, 1e-6) << "param " << i << " step " << t;
      }
    }
  }
}

TEST(BackendTest, AdamKerasFormula) {
  const auto backend = Cpu();
  const AdamStep base{.learning_rate = 0.01f, .beta1 = 0.9f, .beta2 = 0.999f, .epsilon = 1e-7f};
  const int64_t n = 33;
  Tensor p = MakeTensor(backend, {n}, RandomFloats(n, -1, 1, 100));
  Tensor m = MakeTensor(backend, {n}, std::vector<float>(n, 0.0f));
  Tensor v = MakeTensor(backend, {n}, std::vector<float>(n, 0.0f));
  for (int64_t t = 1; t <= 3; ++t) {
    std::vector<float> g = RandomFloats(n, -1, 1, 110 + t);
    // Tiny and zero gradients, where sqrt(v) is comparable to epsilon: they tell epsilon
    // added to sqrt(v) (Keras 2, as documented) from epsilon added to the bias-corrected
    // sqrt(v_hat) (a factor sqrt(1 - b2^t) ~ 0.03 apart at t = 1).
    g[0] = 1e-7f;
    g[1] = -3e-8f;
    g[2] = 0.0f;
    g[3] = 1e-6f;
    const Tensor gt = MakeTensor(backend, {n}, g);
    AdamStep step = base;
    step.t = t;
    const std::vector<float> p0 = p.ToHost(), m0 = m.ToHost(), v0 = v.ToHost();
    ops::AdamUpdate(step, p, gt, m, v);
    const std::vector<float> p1 = p.ToHost(), m1 = m.ToHost(), v1 = v.ToHost();
    const double b1 = step.beta1, b2 = step.beta2;
    const double lr_t = step.learning_rate * std::sqrt(1 - std::pow(b2, t)) / (1 - std::pow(b1, t));
    for (int64_t i = 0; i < n; ++i) {
      SCOPED_TRACE("t=" + std::to_string(t) + " i=" + std::to_string(i));
      const double mm = b1 * m0[i] + (1 - b1) * g[i];
      const double vv = b2 * v0[i] + (1 - b2) * static_cast<double>(g[i]) * g[i];
      const double delta = lr_t * mm / (std::sqrt(vv) + step.epsilon);
      // m mixes terms of either sign: its float error is relative to the terms, not to m.
      const double m_terms = b1 * std::fabs(m0[i]) + (1 - b1) * std::fabs(g[i]);
      ASSERT_NEAR(m1[i], mm, 1e-6 * m_terms + 1e-20);
      ASSERT_NEAR(v1[i], vv, 1e-5 * vv + 1e-20);
      // The update's own precision (1e-4 relative) plus the rounding of p to float.
      ASSERT_NEAR(p1[i], p0[i] - delta, 1e-4 * std::fabs(delta) + 1.2e-7 * std::fabs(p0[i]));
    }
  }
}

// ---- Rounding: no FMA contraction -------------------------------------------------------------

// Each float operation of the reference rounds on its own: a volatile store cannot be fused
// with the operation that reads it, whatever -ffp-contract the test was compiled with.
float Mul(float a, float b) {
  volatile float product = a * b;
  return product;
}

// The CPU loops must round every product before adding it (docs/design.md: the same bits on
// every x86-64 level). GCC contracts a*b + c into an FMA in the AVX2/AVX-512 copies unless
// built with -ffp-contract=off; on an AVX-512 machine the contracted build failed here (tanh'
// = 1 - a^2 became one fused operation).
TEST(BackendTest, CpuLoopsRoundEveryProductBeforeAdding) {
  const auto backend = Cpu(1);
  const int64_t n = 1024;
  const std::vector<float> x = RandomFloats(n, -2, 2, 120);
  const std::vector<float> y0 = RandomFloats(n, -2, 2, 121);
  const std::vector<float> g = RandomFloats(n, -2, 2, 122);
  {
    Tensor y = MakeTensor(backend, {n}, y0);
    ops::Axpy(1.3f, MakeTensor(backend, {n}, x), y);
    const std::vector<float> out = y.ToHost();
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(out[i], y0[i] + Mul(1.3f, x[i])) << "axpy " << i;
  }
  {
    Tensor p = MakeTensor(backend, {n}, y0);
    ops::SgdUpdate({.learning_rate = 0.3f}, p, MakeTensor(backend, {n}, g), nullptr);
    const std::vector<float> out = p.ToHost();
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(out[i], y0[i] - Mul(0.3f, g[i])) << "sgd " << i;
  }
  {
    Tensor p = MakeTensor(backend, {n}, y0);
    Tensor v = MakeTensor(backend, {n}, x);
    ops::SgdUpdate({.learning_rate = 0.3f, .momentum = 0.7f}, p, MakeTensor(backend, {n}, g), &v);
    const std::vector<float> out = v.ToHost();
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(out[i], Mul(0.7f, x[i]) - Mul(0.3f, g[i])) << "momentum " << i;
    }
  }
  {
    // tanh' = 1 - a^2, a in (-1, 1).
    const std::vector<float> a = RandomFloats(n, -0.99f, 0.99f, 123);
    const Tensor at = MakeTensor(backend, {1, n}, a);
    Tensor dz(backend, {1, n});
    ops::ActivationBackward(Activation::kTanh, at, at, MakeTensor(backend, {1, n}, g), dz, nullptr);
    const std::vector<float> out = dz.ToHost();
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(out[i], g[i] * (1.0f - Mul(a[i], a[i]))) << "tanh backward " << i;
    }
  }
}

// ---- Data movement ------------------------------------------------------------------------------

TEST(BackendTest, GatherRows) {
  const auto backend = Cpu();
  for (int64_t cols : {int64_t{1}, int64_t{7}}) {
    const std::vector<float> src = RandomFloats(33 * cols, -1, 1, 120);
    const Tensor s = MakeTensor(backend, {33, cols}, src);
    const std::vector<int64_t> idx = {32, 0, 5, 5, 17, 1, 32};
    Tensor d(backend, {7, cols});
    ops::GatherRows(s, idx, d);
    const std::vector<float> dst = d.ToHost();
    for (size_t r = 0; r < idx.size(); ++r) {
      for (int64_t c = 0; c < cols; ++c) {
        ASSERT_EQ(dst[r * cols + c], src[idx[r] * cols + c]) << r << "," << c;
      }
    }
  }
}

// ---- Statistics ---------------------------------------------------------------------------------

TEST(BackendTest, StatsOverFiniteValuesWithNanAndInfCounted) {
  const auto backend = Cpu();
  std::vector<float> v = RandomFloats(33 * 7, -3, 5, 130);
  v[3] = kNaN;
  v[10] = kInf;
  v[11] = -kInf;
  v[50] = kNaN;
  const Tensor t = MakeTensor(backend, {33, 7}, v);
  const Tensor* ts[] = {&t};
  const std::vector<TensorStats> stats = ops::Stats(ts, HistogramSpec{});
  ASSERT_EQ(stats.size(), 1u);
  const TensorStats& s = stats[0];

  std::vector<float> finite;
  for (float x : v) {
    if (std::isfinite(x)) finite.push_back(x);
  }
  const testing::SampleMoments m = testing::Moments(finite);
  EXPECT_EQ(s.nan_count, 2);
  EXPECT_EQ(s.inf_count, 2);
  EXPECT_EQ(s.count, static_cast<int64_t>(finite.size()) + 4);  // every element, NaN/Inf too
  // 1e-5: room for a float accumulation of 227 values; a sample (n - 1) std would be off
  // by 0.2% (5e-3 here), an included NaN or Inf by everything.
  EXPECT_NEAR(s.mean, m.mean, 1e-5);
  EXPECT_NEAR(s.std, m.std, 1e-5);  // population std, as numpy's default
  EXPECT_EQ(s.min, m.min);
  EXPECT_EQ(s.max, m.max);
  EXPECT_TRUE(s.histogram.empty());
}

TEST(BackendTest, StatsHistogramAutoAndFixedRange) {
  const auto backend = Cpu();
  // Values on a grid: bin centers k + 0.5 with a jitter of at most 0.3, plus the exact
  // extremes 0 and 10, so that no value lies near an interior bin edge.
  std::vector<float> v = {0.0f, 10.0f};
  std::vector<int64_t> expected(10, 0);
  expected[0] = 1;
  expected[9] = 1;  // the maximum falls in the last bin (closed on the right, like numpy)
  const std::vector<float> jitter = RandomFloats(33 * 7 - 2, -0.3f, 0.3f, 140);
  for (size_t i = 0; i < jitter.size(); ++i) {
    const int bin = static_cast<int>((i * 7) % 10);
    v.push_back(static_cast<float>(bin + 0.5 + jitter[i]));
    ++expected[bin];
  }
  v.push_back(kNaN);  // not counted anywhere in the histogram
  const Tensor t = MakeTensor(backend, {static_cast<int64_t>(v.size())}, v);
  const Tensor* ts[] = {&t, &t};

  const std::vector<TensorStats> auto_stats =
      ops::Stats(std::span<const Tensor* const>(ts, 1), HistogramSpec{.bins = 10});
  ASSERT_EQ(auto_stats.size(), 1u);
  EXPECT_EQ(auto_stats[0].hist_lo, 0.0f);
  EXPECT_EQ(auto_stats[0].hist_hi, 10.0f);
  EXPECT_EQ(auto_stats[0].histogram, expected);

  // Fixed range [2, 7] in 5 bins: values outside are not counted; two tensors in one call.
  const std::vector<TensorStats> fixed =
      ops::Stats(ts, HistogramSpec{.bins = 5, .auto_range = false, .lo = 2.0f, .hi = 7.0f});
  ASSERT_EQ(fixed.size(), 2u);
  const std::vector<int64_t> expected_fixed(expected.begin() + 2, expected.begin() + 7);
  EXPECT_EQ(fixed[0].hist_lo, 2.0f);
  EXPECT_EQ(fixed[0].hist_hi, 7.0f);
  EXPECT_EQ(fixed[0].histogram, expected_fixed);
  EXPECT_EQ(fixed[1].histogram, expected_fixed);
}

// A negative bin count reached the histogram's allocation (issue 12, item 13).
TEST(BackendTest, StatsRefusesABadHistogramSpecNamingIt) {
  const auto backend = Cpu();
  const Tensor t = MakeTensor(backend, {3}, {1, 2, 3});
  const Tensor* tensors[] = {&t};
  const HistogramSpec bad[] = {{.bins = -5},
                               {.bins = kMaxHistogramBins + 1},
                               {.bins = 4, .auto_range = false, .lo = 1.0f, .hi = 0.0f},
                               {.bins = 4, .auto_range = false, .lo = 0.0f, .hi = kNaN}};
  for (const HistogramSpec& spec : bad) {
    try {
      ops::Stats(tensors, spec);
      ADD_FAILURE() << "no exception for bins " << spec.bins;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("histogram"), std::string::npos) << e.what();
    }
  }
}

TEST(BackendTest, StatsConstantTensorPutsEverythingInTheMiddleBin) {
  const auto backend = Cpu();
  const Tensor t = MakeTensor(backend, {7, 1}, std::vector<float>(7, 0.25f));
  const Tensor* ts[] = {&t};
  const std::vector<TensorStats> s = ops::Stats(ts, HistogramSpec{.bins = 5});
  ASSERT_EQ(s.size(), 1u);
  EXPECT_NEAR(s[0].mean, 0.25, 1e-12);
  EXPECT_NEAR(s[0].std, 0.0, 1e-12);
  EXPECT_EQ(s[0].histogram, (std::vector<int64_t>{0, 0, 7, 0, 0}));
}

}  // namespace
}  // namespace fanin
