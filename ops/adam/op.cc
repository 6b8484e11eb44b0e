#include "ops/adam/op.h"

#include "fanin/ops.h"
#include "ops/check.h"
#include "ops/dispatch.h"

namespace fanin::ops {

void AdamUpdate(const AdamStep& step, Tensor& params, const Tensor& grads, Tensor& m, Tensor& v,
                const ParameterStats* stats) {
  const char* op = "AdamUpdate";
  Backend& backend =
      internal::OneBackend(op, {{"params", &params}, {"grads", &grads}, {"m", &m}, {"v", &v}});
  internal::CheckSameSize(op, "params", params, "grads", grads);
  internal::CheckSameSize(op, "params", params, "m", m);
  internal::CheckSameSize(op, "params", params, "v", v);
  if (stats != nullptr) internal::CheckParameterStats(op, *stats, params.size(), backend);
  internal::Run<internal::AdamUpdateOp>(backend, step, params, grads, m, v, stats);
}

}  // namespace fanin::ops
