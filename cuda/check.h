// Error checking for every CUDA runtime, cuBLAS and cuDNN call.
//
//   FANIN_CUDA_CHECK(cudaMemcpyAsync(...));
//   FANIN_CUDA_CHECK(cublasSgemm(...));      // the same macro for all three libraries
//   FANIN_CUDA_CHECK_LAUNCH();               // after a <<<...>>> launch
//
// A failure throws std::runtime_error naming the call, the file and line, and the library's
// own message ("cudaErrorMemoryAllocation: out of memory"). Plain C++: included by .cc
// files compiled by the host compiler as well as by .cu files.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstdint>

namespace fanin::gpu {

// Each throws std::runtime_error unless the status is success.
void Check(cudaError_t status, const char* call, const char* file, int line);
void Check(cublasStatus_t status, const char* call, const char* file, int line);
void Check(cudnnStatus_t status, const char* call, const char* file, int line);

// n as a cuDNN descriptor's int dimension; throws std::invalid_argument naming `what` ("cuDNN
// batch norm") when it does not fit.
int CudnnDim(int64_t n, const char* what);

}  // namespace fanin::gpu

#define FANIN_CUDA_CHECK(call) ::fanin::gpu::Check((call), #call, __FILE__, __LINE__)
// A launch reports a bad configuration at once through cudaGetLastError (no wait); a fault
// inside the kernel surfaces at the next call that waits, which is checked too.
#define FANIN_CUDA_CHECK_LAUNCH() \
  ::fanin::gpu::Check(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)
