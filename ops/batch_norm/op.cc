#include "ops/batch_norm/op.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "fanin/ops.h"
#include "ops/check.h"
#include "ops/dispatch.h"

namespace fanin::ops {
namespace {

void CheckFeatures(const char* op, const Tensor& x, std::initializer_list<internal::Arg> vectors) {
  for (const internal::Arg& v : vectors) {
    if (v.tensor->size() != x.cols()) {
      throw std::invalid_argument(std::string(op) + ": " + std::string(v.name) + " " +
                                  ShapeToString(v.tensor->shape()) + " does not hold one value " +
                                  "per column of " + ShapeToString(x.shape()));
    }
  }
}

}  // namespace

void BatchNormForward(const BatchNormSpec& spec, bool training, const Tensor& x,
                      const Tensor& gamma, const Tensor& beta, Tensor& moving_mean,
                      Tensor& moving_var, Tensor& xhat, Tensor& y, Tensor& inv_std) {
  const char* op = "BatchNormForward";
  Backend& backend = internal::OneBackend(op, {{"x", &x},
                                               {"gamma", &gamma},
                                               {"beta", &beta},
                                               {"moving_mean", &moving_mean},
                                               {"moving_var", &moving_var},
                                               {"xhat", &xhat},
                                               {"y", &y},
                                               {"inv_std", &inv_std}});
  internal::CheckMatrix(op, "x", x);
  CheckFeatures(op, x,
                {{"gamma", &gamma},
                 {"beta", &beta},
                 {"moving_mean", &moving_mean},
                 {"moving_var", &moving_var},
                 {"inv_std", &inv_std}});
  internal::CheckSameSize(op, "x", x, "xhat", xhat);
  internal::CheckSameSize(op, "x", x, "y", y);
  if (training && x.rows() < 1) {
    throw std::invalid_argument(std::string(op) + ": a training batch needs a row, got x " +
                                ShapeToString(x.shape()));
  }
  if (!(spec.epsilon > 0.0f && std::isfinite(spec.epsilon)) ||
      !(spec.momentum >= 0.0f && spec.momentum <= 1.0f)) {
    throw std::invalid_argument(std::string(op) + ": epsilon " + std::to_string(spec.epsilon) +
                                " must be finite and > 0, momentum " +
                                std::to_string(spec.momentum) + " in [0, 1]");
  }
  internal::Run<internal::BatchNormForwardOp>(backend, spec, training, x, gamma, beta, moving_mean,
                                              moving_var, xhat, y, inv_std);
}

void BatchNormBackward(const Tensor& dy, const Tensor& xhat, const Tensor& gamma,
                       const Tensor& inv_std, Tensor& dgamma, Tensor& dbeta, Tensor* dx) {
  const char* op = "BatchNormBackward";
  Backend& backend = internal::OneBackend(op, {{"dy", &dy},
                                               {"xhat", &xhat},
                                               {"gamma", &gamma},
                                               {"inv_std", &inv_std},
                                               {"dgamma", &dgamma},
                                               {"dbeta", &dbeta},
                                               {"dx", dx}});
  internal::CheckMatrix(op, "dy", dy);
  internal::CheckSameSize(op, "dy", dy, "xhat", xhat);
  if (dx != nullptr) internal::CheckSameSize(op, "dy", dy, "dx", *dx);
  CheckFeatures(op, dy,
                {{"gamma", &gamma}, {"inv_std", &inv_std}, {"dgamma", &dgamma}, {"dbeta", &dbeta}});
  internal::Run<internal::BatchNormBackwardOp>(backend, dy, xhat, gamma, inv_std, dgamma, dbeta,
                                               dx);
}

}  // namespace fanin::ops
