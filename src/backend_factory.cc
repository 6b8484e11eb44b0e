#include <stdexcept>
#include <string>

#include "cpu/cpu_backend.h"
#include "fanin/backend.h"
#if defined(FANIN_HAS_CUDA)
#include "cuda/cuda_backend_factory.h"
#endif

namespace fanin {

bool CudaAvailable() {
#if defined(FANIN_HAS_CUDA)
  return CudaDeviceCount() > 0;
#else
  return false;
#endif
}

std::shared_ptr<Backend> MakeBackend(std::string_view device, const BackendOptions& options) {
  if (device == "cpu") return std::make_shared<CpuBackend>(options);
  if (device == "cuda" || device == "auto") {
#if defined(FANIN_HAS_CUDA)
    if (CudaDeviceCount() > 0) return CreateCudaBackend(options);
    if (device == "cuda") throw std::runtime_error("MakeBackend(\"cuda\"): no CUDA GPU is visible");
#else
    if (device == "cuda") {
      throw std::runtime_error("MakeBackend(\"cuda\"): fanin was built without the CUDA backend");
    }
#endif
    return std::make_shared<CpuBackend>(options);
  }
  throw std::invalid_argument("unknown device '" + std::string(device) +
                              "'; valid: cpu, cuda, auto");
}

std::shared_ptr<Backend> HostBackend() {
  static const std::shared_ptr<Backend> host = std::make_shared<CpuBackend>(BackendOptions{});
  return host;
}

}  // namespace fanin
