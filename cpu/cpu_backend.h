// The CPU backend: the runtime the CPU implementations of the ops (ops/<op>/cpu.cc) run on.
// Memory is 64-byte aligned host memory; the ops' GEMMs and the tanh/sigmoid forward run
// through oneDNN (cpu/onednn.h), their large loops over the backend's OpenMP threads
// (cpu/parallel.h), always in a fixed order, so that results do not depend on the thread count.
#pragma once

#include <memory>

#include "fanin/backend.h"

namespace fanin {

class OneDnn;

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(const BackendOptions& options);
  ~CpuBackend() override;

  std::string_view name() const override { return "cpu"; }
  std::string Describe() const override;

  std::shared_ptr<float> Allocate(int64_t count) override;
  void CopyFromHost(const float* host_src, float* dst, int64_t count) override;
  void CopyToHost(const float* src, float* host_dst, int64_t count) override;
  void CopyOnDevice(const float* src, float* dst, int64_t count) override;
  void Synchronize() override {}
  bool SharesMemoryWith(const Backend& other) const override;

  // For the ops' implementations.
  int num_threads() const { return num_threads_; }
  OneDnn& onednn() const { return *onednn_; }

 private:
  int num_threads_;
  std::unique_ptr<OneDnn> onednn_;
};

}  // namespace fanin
