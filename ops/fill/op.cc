#include "ops/fill/op.h"

#include "fanin/ops.h"
#include "ops/check.h"
#include "ops/dispatch.h"

namespace fanin::ops {

void Fill(Tensor& t, float value) {
  Backend& backend = internal::OneBackend("Fill", {{"t", &t}});
  if (t.size() == 0) return;
  internal::Run<internal::FillOp>(backend, t, value);
}

void FillRandom(Tensor& t, const RandomSpec& spec) {
  Backend& backend = internal::OneBackend("FillRandom", {{"t", &t}});
  if (t.size() == 0) return;
  internal::Run<internal::FillRandomOp>(backend, t, spec);
}

}  // namespace fanin::ops
