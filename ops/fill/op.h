// The fill ops' implementation signatures (see ops/dispatch.h); the contract is in fanin/ops.h.
#pragma once

#include "fanin/backend.h"
#include "fanin/random.h"
#include "fanin/tensor.h"

namespace fanin::ops::internal {

struct FillOp {
  static constexpr char kName[] = "Fill";
  using Fn = void(Backend&, Tensor& t, float value);
};
struct FillRandomOp {
  static constexpr char kName[] = "FillRandom";
  using Fn = void(Backend&, Tensor& t, const RandomSpec& spec);
};

}  // namespace fanin::ops::internal
