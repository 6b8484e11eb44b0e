// The CUDA backend as a Backend: identity, memory (the caching allocator, out-of-memory
// errors) and the checks that keep a bad call from becoming a device fault.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "cuda_test_util.h"
#include "fanin/ops.h"

namespace fanin::testing {
namespace {

using CudaBackendTest = CudaTest;

TEST_F(CudaBackendTest, DescribesTheGpu) {
  EXPECT_EQ(gpu_->name(), "cuda");
  const std::string description = gpu_->Describe();
  EXPECT_NE(description.find("sm_"), std::string::npos) << description;
  EXPECT_NE(description.find("cuBLAS"), std::string::npos) << description;
  const auto cudnn = MakeBackend("cuda", BackendOptions{.cudnn_activations = true});
  EXPECT_NE(cudnn->Describe().find("cuDNN"), std::string::npos) << cudnn->Describe();
}

// A freed block goes back to the cache and is handed out again for the same size: a
// training loop stops calling cudaMalloc after its first step.
TEST_F(CudaBackendTest, AllocatorReusesFreedBlocks) {
  const float* first = nullptr;
  {
    const std::shared_ptr<float> block = gpu_->Allocate(1000);
    first = block.get();
    ASSERT_NE(first, nullptr);
  }
  const std::shared_ptr<float> again = gpu_->Allocate(1000);
  EXPECT_EQ(again.get(), first);
  const std::shared_ptr<float> other = gpu_->Allocate(1000);  // the cached one is taken
  EXPECT_NE(other.get(), first);
}

TEST_F(CudaBackendTest, OutOfMemoryNamesBytesRequestedAndFree) {
  const int64_t count = int64_t{1} << 42;  // 16 TiB of floats
  try {
    gpu_->Allocate(count);
    FAIL() << "allocating 16 TiB succeeded";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_TRUE(ContainsNumber(message, count * 4)) << message;
    EXPECT_NE(message.find("free"), std::string::npos) << message;
  }
  // The failure leaves the backend usable.
  Tensor t(gpu_, {3});
  ops::Fill(t, 2.0f);
  EXPECT_EQ(t.ToHost(), std::vector<float>(3, 2.0f));
}

// A host tensor handed to a GPU op would be an illegal address on the device.
TEST_F(CudaBackendTest, RejectsTensorsOfAnotherBackend) {
  Tensor host(cpu_, {4, 4}), device(gpu_, {4, 4});
  EXPECT_THROW(ops::Axpy(1.0f, host, device), std::invalid_argument);
  EXPECT_THROW(ops::Gemm(device, false, host, false, 1.0f, 0.0f, device), std::invalid_argument);
  EXPECT_THROW(ops::ActivationForward(Activation::kTanh, host, device), std::invalid_argument);
}

TEST_F(CudaBackendTest, RejectsMismatchedShapes) {
  Tensor a(gpu_, {4, 3}), b(gpu_, {4, 3}), c(gpu_, {4, 4}), bias(gpu_, {4});
  EXPECT_THROW(ops::Gemm(a, false, b, false, 1.0f, 0.0f, c), std::invalid_argument);
  EXPECT_THROW(ops::BiasActivationForward(Activation::kRelu, bias, a, a), std::invalid_argument);
  Tensor totals(gpu_, {2});
  EXPECT_THROW(ops::BinaryCrossEntropy(BceInput::kLogits, a, b, 1.0f, nullptr, totals, 1),
               std::out_of_range);
}

TEST_F(CudaBackendTest, GemmWithEmptyInnerDimensionScalesC) {
  Tensor a(gpu_, {3, 0}), b(gpu_, {0, 2});
  Tensor c = MakeTensor(gpu_, {3, 2}, {1, 2, 3, 4, 5, 6});
  ops::Gemm(a, false, b, false, 1.0f, 0.5f, c);
  EXPECT_EQ(c.ToHost(), (std::vector<float>{0.5f, 1, 1.5f, 2, 2.5f, 3}));
}

}  // namespace
}  // namespace fanin::testing
