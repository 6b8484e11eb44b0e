// Shared by the CUDA test files: the fixture that skips without a GPU and tensors with the
// same values on both backends (the element-wise comparisons are in test_util.h).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <utility>
#include <vector>

#include "../test_util.h"
#include "fanin/fanin.h"

namespace fanin::testing {

// Every CUDA test derives from this: without a usable GPU it is skipped (with the reason),
// so CI machines without one stay green and honest.
class CudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!CudaAvailable()) GTEST_SKIP() << "no CUDA GPU";
    cpu_ = Cpu();
    gpu_ = MakeBackend("cuda");
  }

  // A tensor holding `values` on the CPU and one on the GPU.
  std::pair<Tensor, Tensor> Both(const Shape& shape, const std::vector<float>& values) const {
    return {Tensor::FromHost(cpu_, shape, values), Tensor::FromHost(gpu_, shape, values)};
  }

  std::shared_ptr<Backend> cpu_;
  std::shared_ptr<Backend> gpu_;
};

}  // namespace fanin::testing
