// Activations with a parameter: parsing "name(alpha)" and printing it back, the errors that
// name the input, the ops and layers refusing a spec that parsing could not give, and the CPU
// ops with a non-default alpha against the double reference. Every activation at its default
// is covered by the loops over kActivations in backend_test.cc and gradient_test.cc.

#include "fanin/activation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "expect_error.h"
#include "fanin/fanin.h"
#include "test_util.h"

namespace fanin {
namespace {

using testing::Cpu;
using testing::ExpectClose;
using testing::ExpectThrowsWith;
using testing::MakeTensor;
using testing::RandomFloats;
using testing::RefActivation;
using testing::RefActivationDerivative;

bool SameBits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(ActivationSpecTest, NamesWithoutParameterGiveTheDefault) {
  EXPECT_EQ(ParseActivation("leaky_relu"), (ActivationSpec{Activation::kLeakyRelu, 0.3f}));
  EXPECT_EQ(ParseActivation("elu"), (ActivationSpec{Activation::kElu, 1.0f}));
  EXPECT_EQ(ParseActivation("swish"), Activation::kSilu);
  EXPECT_EQ(ParseActivation("none"), Activation::kLinear);
  EXPECT_EQ(ActivationSpec(Activation::kLeakyRelu).alpha, 0.3f);
  EXPECT_EQ(ActivationName(Activation::kLeakyRelu), "leaky_relu");
  EXPECT_EQ(ActivationName(ParseActivation("swish")), "silu");
  EXPECT_TRUE(TakesAlpha(Activation::kElu));
  EXPECT_FALSE(TakesAlpha(Activation::kSelu));
}

TEST(ActivationSpecTest, ParametersParseAndPrintBackToTheSameFloat) {
  EXPECT_EQ(ParseActivation("leaky_relu(0.1)"), (ActivationSpec{Activation::kLeakyRelu, 0.1f}));
  EXPECT_EQ(ParseActivation("elu( 0.5 )"), (ActivationSpec{Activation::kElu, 0.5f}));
  EXPECT_EQ(ParseActivation("elu(1e-3)"), (ActivationSpec{Activation::kElu, 1e-3f}));
  EXPECT_EQ(ActivationName({Activation::kLeakyRelu, 0.1f}), "leaky_relu(0.1)");
  EXPECT_EQ(ActivationName({Activation::kElu, -2.5f}), "elu(-2.5)");
  // The default written out is the default.
  EXPECT_EQ(ActivationName(ParseActivation("leaky_relu(0.3)")), "leaky_relu");
  std::mt19937 gen(7);
  std::uniform_int_distribution<uint32_t> bits;
  std::vector<float> alphas = {std::nextafter(0.3f, 1.0f),
                               std::numeric_limits<float>::min(),
                               std::numeric_limits<float>::denorm_min(),
                               std::numeric_limits<float>::max(),
                               -0.0f,
                               123456.79f};
  while (alphas.size() < 2000) {
    const uint32_t b = bits(gen);
    float alpha;
    std::memcpy(&alpha, &b, sizeof alpha);
    if (std::isfinite(alpha)) alphas.push_back(alpha);
  }
  for (const Activation kind : {Activation::kLeakyRelu, Activation::kElu}) {
    for (const float alpha : alphas) {
      const std::string name = ActivationName({kind, alpha});
      const ActivationSpec back = ParseActivation(name);
      EXPECT_EQ(back.kind, kind) << name;
      EXPECT_TRUE(SameBits(back.alpha, alpha) || alpha == DefaultAlpha(kind)) << name;
    }
  }
}

TEST(ActivationSpecTest, ErrorsNameTheInput) {
  ExpectThrowsWith<std::invalid_argument>([] { ParseActivation("tanh(0.5)"); },
                                          {"'tanh(0.5)'", "tanh takes no parameter"});
  ExpectThrowsWith<std::invalid_argument>([] { ParseActivation("swish(2)"); },
                                          {"'swish(2)'", "silu takes no parameter"});
  for (const char* bad : {"elu(nan)", "elu(inf)", "elu(-inf)", "elu(1e50)", "elu(abc)", "elu()",
                          "elu(0.5x)", "leaky_relu(0.1, 2)"}) {
    ExpectThrowsWith<std::invalid_argument>([&] { ParseActivation(bad); },
                                            {bad, "not a finite number"});
  }
  ExpectThrowsWith<std::invalid_argument>(
      [] { ParseActivation("softmax"); },
      {"'softmax'", "leaky_relu", "swish (silu)", "leaky_relu(alpha)", "elu(alpha)"});
  ExpectThrowsWith<std::invalid_argument>([] { ParseActivation("elu(0.5"); },
                                          {"unknown activation 'elu(0.5'"});
}

TEST(ActivationSpecTest, OpsAndLayersRefuseWhatParsingCouldNotGive) {
  const auto backend = Cpu();
  const Tensor z = MakeTensor(backend, {1, 2}, {1.0f, -1.0f});
  Tensor a(backend, {1, 2});
  ExpectThrowsWith<std::invalid_argument>(
      [&] {
        ops::ActivationForward({Activation::kTanh, 0.5f}, z, a);
      },
      {"ActivationForward", "tanh takes no parameter"});
  ExpectThrowsWith<std::invalid_argument>(
      [&] {
        ops::ActivationBackward({Activation::kElu, std::numeric_limits<float>::infinity()}, z, a, z,
                                a, nullptr);
      },
      {"ActivationBackward", "elu's alpha must be finite"});
  ExpectThrowsWith<std::invalid_argument>(
      [] {
        Dense(3, ActivationSpec{Activation::kLeakyRelu, std::nanf("")});
      },
      {"Dense", "leaky_relu's alpha must be finite"});
  ExpectThrowsWith<std::invalid_argument>(
      [] {
        ActivationLayer(ActivationSpec{Activation::kSelu, 1.0f});
      },
      {"ActivationLayer", "selu takes no parameter"});
  EXPECT_NE(Dense(3, "leaky_relu(0.1)").Describe().find("leaky_relu(0.1)"), std::string::npos);
  EXPECT_EQ(ActivationLayer("elu(0.5)").Describe(), "Activation(elu(0.5))");
}

// The CPU ops with alphas other than the defaults (negative too) against the reference, which
// reads the same alpha.
TEST(ActivationSpecTest, NonDefaultAlphaReachesTheOps) {
  const auto backend = Cpu();
  const int64_t rows = 7, cols = 33;
  const std::vector<float> z0 = RandomFloats(rows * cols, -4, 4, 3);
  const std::vector<float> da0 = RandomFloats(rows * cols, -2, 2, 4);
  for (const ActivationSpec spec :
       {ActivationSpec{Activation::kLeakyRelu, 0.1f}, ActivationSpec{Activation::kLeakyRelu, -0.5f},
        ActivationSpec{Activation::kElu, 0.5f}, ActivationSpec{Activation::kElu, 2.0f}}) {
    SCOPED_TRACE(ActivationName(spec));
    const Tensor z = MakeTensor(backend, {rows, cols}, z0);
    Tensor a(backend, {rows, cols});
    ops::ActivationForward(spec, z, a);
    const Tensor da = MakeTensor(backend, {rows, cols}, da0);
    Tensor dz(backend, {rows, cols});
    ops::ActivationBackward(spec, z, a, da, dz, nullptr);
    std::vector<double> a_ref(z0.size()), dz_ref(z0.size());
    for (size_t i = 0; i < z0.size(); ++i) {
      a_ref[i] = RefActivation(spec, z0[i]);
      dz_ref[i] = da0[i] * RefActivationDerivative(spec, z0[i]);
    }
    // |values| <= 4 * max(1, |alpha|): a few float roundings (expm1f's 1-2 ulp) of that size.
    ExpectClose(a_ref, a.ToHost(), 2e-6, 2e-6, "a");
    ExpectClose(dz_ref, dz.ToHost(), 4e-6, 4e-6, "dz");
  }
}

}  // namespace
}  // namespace fanin
