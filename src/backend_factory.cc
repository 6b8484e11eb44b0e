#include <map>
#include <stdexcept>
#include <string>
#include <utility>

#include "fanin/backend.h"
#include "src/backend_registry.h"

namespace fanin {
namespace internal {
namespace {

std::map<std::string, BackendEntry, std::less<>>& Registry() {
  static std::map<std::string, BackendEntry, std::less<>> registry;
  return registry;
}

}  // namespace

bool RegisterBackend(std::string name, BackendEntry entry) {
  return Registry().emplace(std::move(name), std::move(entry)).second;
}

const BackendEntry* FindBackend(std::string_view name) {
  const auto& registry = Registry();
  const auto it = registry.find(name);
  return it == registry.end() ? nullptr : &it->second;
}

}  // namespace internal

namespace {

const internal::BackendEntry& Cpu() {
  const internal::BackendEntry* cpu = internal::FindBackend("cpu");
  if (cpu == nullptr) throw std::logic_error("fanin: the CPU backend did not register");
  return *cpu;
}

}  // namespace

bool CudaAvailable() {
  const internal::BackendEntry* cuda = internal::FindBackend("cuda");
  return cuda != nullptr && cuda->device_count() > 0;
}

std::shared_ptr<Backend> MakeBackend(std::string_view device, const BackendOptions& options) {
  if (device == "cpu") return Cpu().create(options);
  if (device == "cuda" || device == "auto") {
    const internal::BackendEntry* cuda = internal::FindBackend("cuda");
    if (cuda != nullptr && cuda->device_count() > 0) return cuda->create(options);
    if (device == "cuda") {
      throw std::runtime_error(cuda == nullptr
                                   ? "MakeBackend(\"cuda\"): fanin was built without the CUDA backend"
                                   : "MakeBackend(\"cuda\"): no CUDA GPU is visible");
    }
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
