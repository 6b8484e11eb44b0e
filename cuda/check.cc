#include "cuda/check.h"

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

namespace fanin::gpu {
namespace {

[[noreturn]] void Throw(const char* library, const std::string& message, const char* call,
                        const char* file, int line) {
  throw std::runtime_error(std::string(library) + " error: " + message + "\n  in " + call +
                           "\n  at " + file + ":" + std::to_string(line));
}

}  // namespace

void Check(cudaError_t status, const char* call, const char* file, int line) {
  if (status == cudaSuccess) return;
  Throw("CUDA", std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status), call,
        file, line);
}

void Check(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  Throw("cuBLAS", std::string(cublasGetStatusName(status)) + ": " + cublasGetStatusString(status),
        call, file, line);
}

void Check(cudnnStatus_t status, const char* call, const char* file, int line) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  // cuDNN 9 keeps a more specific description of the last failure than the status name.
  char detail[1024] = "";
  cudnnGetLastErrorString(detail, sizeof(detail));
  std::string message = cudnnGetErrorString(status);
  if (detail[0] != '\0') message += std::string(" (") + detail + ")";
  Throw("cuDNN", message, call, file, line);
}

int CudnnDim(int64_t n, const char* what) {
  if (n > std::numeric_limits<int>::max()) {
    throw std::invalid_argument(std::string(what) + ": dimension " + std::to_string(n) +
                                " does not fit cuDNN's int");
  }
  return static_cast<int>(n);
}

}  // namespace fanin::gpu
