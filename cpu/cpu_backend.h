// The CPU backend: GEMMs and the tanh/sigmoid forward through oneDNN (cpu/onednn.h, the
// only multi-threaded part), everything else as single-threaded loops the compiler
// vectorizes. Element-wise passes are memory-bound and cheap next to the GEMMs. The
// backend's own reductions run in a fixed order, so they do not depend on the thread count.
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

  void Fill(Tensor& t, float value) override;
  void FillRandom(Tensor& t, const RandomSpec& spec) override;

  void Gemm(const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b, float alpha,
            float beta, Tensor& c) override;
  void DenseForward(const Tensor& x, const Tensor& w, const Tensor& bias, Activation act, Tensor& z,
                    Tensor& a) override;
  void Axpy(float alpha, const Tensor& x, Tensor& y) override;

  void BiasActivationForward(Activation act, const Tensor& bias, Tensor& z, Tensor& a) override;
  void ActivationForward(Activation act, const Tensor& z, Tensor& a) override;
  void ActivationBackward(Activation act, const Tensor& z, const Tensor& a, const Tensor& da,
                          Tensor& dz, Tensor* bias_grad) override;

  void BinaryCrossEntropy(BceInput input, const Tensor& output, const Tensor& labels,
                          float grad_scale, Tensor* grad, Tensor& totals, int64_t slot) override;

  void SgdUpdate(const SgdStep& step, Tensor& params, const Tensor& grads,
                 Tensor* velocity) override;
  void AdamUpdate(const AdamStep& step, Tensor& params, const Tensor& grads, Tensor& m,
                  Tensor& v) override;

  void GatherRows(const Tensor& src, std::span<const int64_t> indices, Tensor& dst) override;

  std::vector<TensorStats> Stats(std::span<const Tensor* const> tensors,
                                 const HistogramSpec& histogram) override;

 private:
  int num_threads_;
  std::unique_ptr<OneDnn> onednn_;
};

}  // namespace fanin
