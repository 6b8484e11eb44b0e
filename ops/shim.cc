// TEMPORARY during the move of the ops into ops/<op>/: forwards to the backend's methods.
#include "fanin/backend.h"
#include "fanin/ops.h"

namespace fanin::ops {
void Fill(Tensor& t, float value) { t.backend().Fill(t, value); }
void FillRandom(Tensor& t, const RandomSpec& spec) { t.backend().FillRandom(t, spec); }
void Gemm(const Tensor& a, bool ta, const Tensor& b, bool tb, float alpha, float beta, Tensor& c) {
  c.backend().Gemm(a, ta, b, tb, alpha, beta, c);
}
void Axpy(float alpha, const Tensor& x, Tensor& y) { y.backend().Axpy(alpha, x, y); }
void DenseForward(const Tensor& x, const Tensor& w, const Tensor& bias, Activation act, Tensor& z,
                  Tensor& a) {
  z.backend().DenseForward(x, w, bias, act, z, a);
}
void BiasActivationForward(Activation act, const Tensor& bias, Tensor& z, Tensor& a) {
  z.backend().BiasActivationForward(act, bias, z, a);
}
void ActivationForward(Activation act, const Tensor& z, Tensor& a) {
  a.backend().ActivationForward(act, z, a);
}
void ActivationBackward(Activation act, const Tensor& z, const Tensor& a, const Tensor& da,
                        Tensor& dz, Tensor* bias_grad) {
  dz.backend().ActivationBackward(act, z, a, da, dz, bias_grad);
}
void BinaryCrossEntropy(BceInput input, const Tensor& output, const Tensor& labels,
                        float grad_scale, Tensor* grad, Tensor& totals, int64_t slot) {
  totals.backend().BinaryCrossEntropy(input, output, labels, grad_scale, grad, totals, slot);
}
void SgdUpdate(const SgdStep& step, Tensor& params, const Tensor& grads, Tensor* velocity) {
  params.backend().SgdUpdate(step, params, grads, velocity);
}
void AdamUpdate(const AdamStep& step, Tensor& params, const Tensor& grads, Tensor& m, Tensor& v) {
  params.backend().AdamUpdate(step, params, grads, m, v);
}
void GatherRows(const Tensor& src, std::span<const int64_t> indices, Tensor& dst) {
  dst.backend().GatherRows(src, indices, dst);
}
std::vector<TensorStats> Stats(std::span<const Tensor* const> tensors,
                               const HistogramSpec& histogram) {
  if (tensors.empty()) return {};
  return tensors[0]->backend().Stats(tensors, histogram);
}
}  // namespace fanin::ops
