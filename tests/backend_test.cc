// Tests of the CPU backend that are not one op's values (those are the op cases of
// ops/<op>/test.cc, run by fanin_op_tests): the same bits on any thread count, no FMA
// contraction in its loops, plus the tensor handle and the backend factory.

#include "fanin/backend.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "fanin/fanin.h"
#include "test_util.h"

namespace fanin {
namespace {

using testing::Cpu;
using testing::MakeTensor;
using testing::RandomFloats;

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

// ---- Threads
// -------------------------------------------------------------------------------------

// Above kParallelMinElements (2^17) the element-wise ops split over threads: column bands
// for the bias gradient, flat chunks otherwise. The split must not change a single bit, and
// the bands must cover every column once (1001 columns: not a multiple of the 16-column
// grain). Their values are checked by the op cases (ops/<op>/test.cc).
TEST(BackendTest, LargeElementwiseOpsGiveTheSameBitsOnOneAndTwoThreads) {
  const int64_t rows = 300, cols = 1001;
  const std::vector<float> z0 = RandomFloats(rows * cols, -4, 4, 90);
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

}  // namespace
}  // namespace fanin
