#include "ops/sgd/op.h"

#include <stdexcept>

#include "fanin/ops.h"
#include "ops/check.h"
#include "ops/dispatch.h"

namespace fanin::ops {

void SgdUpdate(const SgdStep& step, Tensor& params, const Tensor& grads, Tensor* velocity,
               const ParameterStats* stats) {
  const char* op = "SgdUpdate";
  const bool momentum = step.momentum != 0.0f;
  if (momentum && velocity == nullptr) {
    throw std::invalid_argument("SgdUpdate: momentum needs a velocity");
  }
  Tensor* used_velocity = momentum ? velocity : nullptr;
  Backend& backend = internal::OneBackend(
      op, {{"params", &params}, {"grads", &grads}, {"velocity", used_velocity}});
  internal::CheckSameSize(op, "params", params, "grads", grads);
  if (momentum) internal::CheckSameSize(op, "params", params, "velocity", *velocity);
  if (stats != nullptr) internal::CheckParameterStats(op, *stats, params.size(), backend);
  internal::Run<internal::SgdUpdateOp>(backend, step, params, grads, used_velocity, stats);
}

}  // namespace fanin::ops
