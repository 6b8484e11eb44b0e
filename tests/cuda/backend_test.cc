// The CUDA backend as a Backend: identity, memory (copies, the caching allocator, out-of-memory
// errors) and the check that keeps a host tensor from becoming a device fault. Its ops are the
// op cases of ops/<op>/test.cc (fanin_op_tests, targets cuda, cuda_tf32 and cuda_cudnn).
#include <gtest/gtest.h>

#include <algorithm>
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

// Copies to, from and on the device move the bits unchanged; a copy into a row view lands at
// the view's offset only.
TEST_F(CudaBackendTest, CopiesAreExact) {
  for (const int64_t rows : {1, 7, 33, 1000}) {
    SCOPED_TRACE("rows " + std::to_string(rows));
    const std::vector<float> values = RandomFloats(rows * 5, -3.0f, 3.0f, 1);
    const Tensor g = Tensor::FromHost(gpu_, {rows, 5}, values);
    ExpectBitIdentical(values, g.ToHost(), "CopyFromHost/CopyToHost round trip");
    Tensor copy(gpu_, {rows, 5});
    gpu_->CopyOnDevice(g.data(), copy.data(), g.size());
    ExpectBitIdentical(values, copy.ToHost(), "CopyOnDevice");
    Tensor last = copy.Rows(rows - 1, rows);
    last.CopyFromHost(std::vector<float>(5, -1.0f));
    std::vector<float> expected = values;
    std::fill(expected.end() - 5, expected.end(), -1.0f);
    ExpectBitIdentical(expected, copy.ToHost(), "CopyFromHost into a row view");
  }
}

// A host tensor handed to a GPU op would be an illegal address on the device.
TEST_F(CudaBackendTest, RejectsTensorsOfAnotherBackend) {
  Tensor host(cpu_, {4, 4}), device(gpu_, {4, 4});
  EXPECT_THROW(ops::Axpy(1.0f, host, device), std::invalid_argument);
  EXPECT_THROW(ops::Gemm(device, false, host, false, 1.0f, 0.0f, device), std::invalid_argument);
  EXPECT_THROW(ops::ActivationForward(Activation::kTanh, host, device), std::invalid_argument);
}

}  // namespace
}  // namespace fanin::testing
