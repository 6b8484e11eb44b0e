#include "cpu/cpu_backend.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

#include "cpu/onednn.h"
#include "src/backend_registry.h"

namespace fanin {

CpuBackend::CpuBackend(const BackendOptions& options)
    : num_threads_(options.num_threads > 0
                       ? options.num_threads
                       : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))),
      onednn_(std::make_unique<OneDnn>(num_threads_)) {}

CpuBackend::~CpuBackend() = default;

std::string CpuBackend::Describe() const {
  const dnnl_version_t* v = dnnl_version();
  return "CPU, " + std::to_string(num_threads_) + " thread" + (num_threads_ == 1 ? "" : "s") +
         ", oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
         std::to_string(v->patch);
}

std::shared_ptr<float> CpuBackend::Allocate(int64_t count) {
  if (count == 0) return nullptr;
  // 64-byte alignment: whole cache lines, and full AVX-512 vectors for the loops.
  const size_t bytes = (static_cast<size_t>(count) * sizeof(float) + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, bytes);
  if (p == nullptr) {
    throw std::runtime_error("CPU backend: out of memory allocating " + std::to_string(bytes) +
                             " bytes");
  }
  return std::shared_ptr<float>(static_cast<float*>(p), [](float* q) { std::free(q); });
}

void CpuBackend::CopyFromHost(const float* host_src, float* dst, int64_t count) {
  std::memcpy(dst, host_src, static_cast<size_t>(count) * sizeof(float));
}
void CpuBackend::CopyToHost(const float* src, float* host_dst, int64_t count) {
  std::memcpy(host_dst, src, static_cast<size_t>(count) * sizeof(float));
}
void CpuBackend::CopyOnDevice(const float* src, float* dst, int64_t count) {
  std::memmove(dst, src, static_cast<size_t>(count) * sizeof(float));
}

bool CpuBackend::SharesMemoryWith(const Backend& other) const {
  return dynamic_cast<const CpuBackend*>(&other) != nullptr;
}

namespace {

// "cpu" for MakeBackend and HostBackend, registered when the library loads
// (src/backend_registry.h).
const bool kRegistered = internal::RegisterBackend(
    "cpu", {.create = [](const BackendOptions& options) -> std::shared_ptr<Backend> {
              return std::make_shared<CpuBackend>(options);
            },
            .device_count = [] { return 1; }});

}  // namespace

}  // namespace fanin
