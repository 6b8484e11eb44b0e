// The same seed gives the same initial weights on the CPU and the GPU, bit for bit, for
// every initializer: the Philox stream and its transforms (uniform, polar-method normal,
// truncated normal with re-draws) are IEEE arithmetic in the same order on both.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cuda_test_util.h"

namespace fanin::testing {
namespace {

using CudaInitializersTest = CudaTest;

// Every name Initializer::FromName documents, and the argument forms.
constexpr const char* kInitializerNames[] = {"glorot_normal",
                                             "glorot_uniform",
                                             "he_normal",
                                             "he_uniform",
                                             "lecun_normal",
                                             "lecun_uniform",
                                             "glorot_normal_uncorrected",
                                             "he_normal_uncorrected",
                                             "zeros",
                                             "ones",
                                             "random_normal",
                                             "random_uniform",
                                             "normal(0.5,2)",
                                             "normal(0.01)",
                                             "uniform(-3,2)",
                                             "constant(0.25)"};

TEST_F(CudaInitializersTest, EveryInitializerIsBitIdentical) {
  // A bias, a one-unit head, a hidden layer, and a large kernel: about 2.5% of truncated
  // normal candidates are re-drawn, so the large one exercises many re-draws.
  const Shape shapes[] = {{100}, {100, 1}, {10, 100}, {1000, 333}};
  for (const char* name : kInitializerNames) {
    const Initializer init = Initializer::FromName(name);
    for (const Shape& shape : shapes) {
      for (const uint64_t seed : {uint64_t{0}, uint64_t{42}, uint64_t{0x123456789abcdefULL}}) {
        Tensor c(cpu_, shape), g(gpu_, shape);
        const Fans fans = ComputeFans(shape);
        init.Apply(c, fans, seed, 3);
        init.Apply(g, fans, seed, 3);
        ExpectBitIdentical(
            c.ToHost(), g.ToHost(),
            std::string(name) + " " + ShapeToString(shape) + " seed " + std::to_string(seed));
      }
    }
  }
}

// A whole model: every parameter tensor on its own stream, built on each backend.
TEST_F(CudaInitializersTest, BuiltModelsAreBitIdentical) {
  for (const char* name : {"glorot_normal", "he_uniform", "lecun_normal"}) {
    std::vector<float> parameters[2];
    int i = 0;
    for (const auto& backend : {cpu_, gpu_}) {
      Sequential model(backend);
      for (int layer = 0; layer < 5; ++layer) model.Add(Dense(100, "tanh", name, "random_normal"));
      model.Add(Dense(1, "linear", name));
      model.Compile();
      model.Build(10, 1234);
      parameters[i++] = model.parameters().ToHost();
    }
    ExpectBitIdentical(parameters[0], parameters[1], name);
  }
}

}  // namespace
}  // namespace fanin::testing
