#include <stdexcept>
#include <string>
#include <utility>

#include "fanin/backend.h"
#include "src/backend_registry.h"
#include "src/registry.h"

namespace fanin {
namespace internal {

bool RegisterBackend(std::string name, BackendEntry entry) {
  return Registry<BackendEntry>::Add(std::move(name), std::move(entry));
}

const BackendEntry* FindBackend(std::string_view name) {
  return Registry<BackendEntry>::Find(name);
}

}  // namespace internal

namespace {

const internal::BackendEntry& Cpu() {
  const internal::BackendEntry* cpu = internal::FindBackend("cpu");
  if (cpu == nullptr) throw std::logic_error("fanin: the CPU backend did not register");
  return *cpu;
}

}  // namespace

std::string CudaUnavailableReason() {
  const internal::BackendEntry* cuda = internal::FindBackend("cuda");
  if (cuda == nullptr) return "fanin was built without the CUDA backend";
  if (cuda->device_count() <= 0) return "no CUDA GPU is visible";
  return "";
}

bool CudaAvailable() { return CudaUnavailableReason().empty(); }

std::shared_ptr<Backend> MakeBackend(std::string_view device, const BackendOptions& options) {
  if (device == "cpu") return Cpu().create(options);
  if (device == "cuda" || device == "auto") {
    const std::string unavailable = CudaUnavailableReason();
    if (unavailable.empty()) return internal::FindBackend("cuda")->create(options);
    if (device == "cuda") throw std::runtime_error("MakeBackend(\"cuda\"): " + unavailable);
    return Cpu().create(options);
  }
  throw std::invalid_argument("unknown device '" + std::string(device) +
                              "'; valid: cpu, cuda, auto");
}

std::shared_ptr<Backend> HostBackend() {
  static const std::shared_ptr<Backend> host = Cpu().create(BackendOptions{});
  return host;
}

}  // namespace fanin
