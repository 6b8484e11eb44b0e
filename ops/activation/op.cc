#include "ops/activation/op.h"

#include "fanin/ops.h"
#include "ops/check.h"
#include "ops/dispatch.h"

namespace fanin::ops {

void BiasActivationForward(ActivationSpec act, const Tensor& bias, Tensor& z, Tensor& a,
                           const ForwardStats* stats) {
  const char* op = "BiasActivationForward";
  Backend& backend = internal::OneBackend(op, {{"bias", &bias}, {"z", &z}, {"a", &a}});
  CheckActivation(act, op);
  internal::CheckBias(op, bias, z);
  internal::CheckSameSize(op, "z", z, "a", a);
  if (stats != nullptr) internal::CheckForwardStats(op, *stats, backend);
  internal::Run<internal::BiasActivationForwardOp>(backend, act, bias, z, a, stats);
}

void ActivationForward(ActivationSpec act, const Tensor& z, Tensor& a, const ForwardStats* stats) {
  const char* op = "ActivationForward";
  Backend& backend = internal::OneBackend(op, {{"z", &z}, {"a", &a}});
  CheckActivation(act, op);
  internal::CheckSameSize(op, "z", z, "a", a);
  if (stats != nullptr) internal::CheckForwardStats(op, *stats, backend);
  internal::Run<internal::ActivationForwardOp>(backend, act, z, a, stats);
}

void ActivationBackward(ActivationSpec act, const Tensor& z, const Tensor& a, const Tensor& da,
                        Tensor& dz, Tensor* bias_grad) {
  const char* op = "ActivationBackward";
  Backend& backend = internal::OneBackend(
      op, {{"z", &z}, {"a", &a}, {"da", &da}, {"dz", &dz}, {"bias_grad", bias_grad}});
  CheckActivation(act, op);
  internal::CheckSameSize(op, "z", z, "a", a);
  internal::CheckSameSize(op, "da", da, "dz", dz);
  internal::CheckSameSize(op, "z", z, "dz", dz);
  if (bias_grad != nullptr) internal::CheckBias(op, *bias_grad, dz);
  internal::Run<internal::ActivationBackwardOp>(backend, act, z, a, da, dz, bias_grad);
}

}  // namespace fanin::ops
