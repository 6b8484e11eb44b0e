// Optimizers, with Keras's update rules (see SgdStep and AdamStep in backend.h).
#pragma once

#include <variant>

namespace fanin {

// An L2 penalty l2 * sum(w^2) added to the loss (Keras's kernel_regularizer=l2(l2)), so
// 2 * l2 * w is added to each gradient; limited to kernels unless kernels_only is false.
struct L2Penalty {
  float l2 = 0.0f;
  bool kernels_only = true;
};

struct Sgd {
  float learning_rate = 0.01f;
  float momentum = 0.0f;
  bool nesterov = false;
  L2Penalty penalty;
};

struct Adam {
  float learning_rate = 0.001f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float epsilon = 1e-7f;
  L2Penalty penalty;
};

using Optimizer = std::variant<Sgd, Adam>;

}  // namespace fanin
