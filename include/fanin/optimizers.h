// Optimizers, with Keras's update rules (see SgdStep and AdamStep in fanin/ops.h).
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

// Throws std::invalid_argument naming the first field outside its range, for settings that
// would train silently into NaN weights: a learning rate that is NaN, infinite or negative;
// SGD momentum outside [0, 1); an L2 factor that is NaN, infinite or negative; Adam's beta1
// or beta2 outside [0, 1), or an epsilon that is not finite and > 0. Sequential::Compile
// and LoadCheckpoint call it; the structs stay aggregates, so that designated initializers
// (Sgd{.learning_rate = 0.1f}) keep working, and are checked where they are used.
void ValidateOptimizer(const Optimizer& optimizer);

}  // namespace fanin
