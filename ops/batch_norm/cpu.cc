// Batch normalization on the CPU. The column statistics are sums over the rows in double,
// accumulated row by row into one array per statistic (so the inner loop runs along a row,
// contiguous, and the order of every sum is fixed: the same bits on any thread count).
#include <cmath>
#include <cstdint>
#include <vector>

#include "cpu/cpu_backend.h"
#include "ops/batch_norm/op.h"
#include "ops/dispatch.h"

namespace fanin::ops::internal {
namespace {

void BatchNormForward(Backend&, const BatchNormSpec& spec, bool training, const Tensor& x,
                      const Tensor& gamma, const Tensor& beta, Tensor& moving_mean,
                      Tensor& moving_var, Tensor& xhat, Tensor& y, Tensor& inv_std) {
  const int64_t n = x.rows(), k = x.cols();
  const float* in = x.data();
  float* mm = moving_mean.data();
  float* mv = moving_var.data();
  std::vector<float> mean(k), scale(k);  // what this pass subtracts and multiplies by
  if (training) {
    std::vector<double> sum(k, 0.0), squares(k, 0.0);
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < k; ++j) sum[j] += in[i * k + j];
    }
    for (int64_t j = 0; j < k; ++j) sum[j] /= static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < k; ++j) {
        const double d = in[i * k + j] - sum[j];
        squares[j] += d * d;
      }
    }
    float* is = inv_std.data();
    for (int64_t j = 0; j < k; ++j) {
      const double var = squares[j] / static_cast<double>(n);
      mean[j] = static_cast<float>(sum[j]);
      scale[j] = static_cast<float>(1.0 / std::sqrt(var + spec.epsilon));
      is[j] = scale[j];
      mm[j] = spec.momentum * mm[j] + (1.0f - spec.momentum) * mean[j];
      mv[j] = spec.momentum * mv[j] + (1.0f - spec.momentum) * static_cast<float>(var);
    }
  } else {
    for (int64_t j = 0; j < k; ++j) {
      mean[j] = mm[j];
      scale[j] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(mv[j]) + spec.epsilon));
    }
  }
  const float* g = gamma.data();
  const float* b = beta.data();
  float* xh = xhat.data();
  float* out = y.data();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < k; ++j) {
      const float v = (in[i * k + j] - mean[j]) * scale[j];
      xh[i * k + j] = v;
      out[i * k + j] = g[j] * v + b[j];
    }
  }
}

void BatchNormBackward(Backend&, const Tensor& dy, const Tensor& xhat, const Tensor& gamma,
                       const Tensor& inv_std, Tensor& dgamma, Tensor& dbeta, Tensor* dx) {
  const int64_t n = dy.rows(), k = dy.cols();
  const float* d = dy.data();
  const float* xh = xhat.data();
  std::vector<double> sum_dy(k, 0.0), sum_dy_xhat(k, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < k; ++j) {
      sum_dy[j] += d[i * k + j];
      sum_dy_xhat[j] += static_cast<double>(d[i * k + j]) * xh[i * k + j];
    }
  }
  float* dg = dgamma.data();
  float* db = dbeta.data();
  for (int64_t j = 0; j < k; ++j) {
    dg[j] = static_cast<float>(sum_dy_xhat[j]);
    db[j] = static_cast<float>(sum_dy[j]);
  }
  if (dx == nullptr || n == 0) return;
  const float* g = gamma.data();
  const float* is = inv_std.data();
  std::vector<float> mean_dy(k), mean_dy_xhat(k), factor(k);
  for (int64_t j = 0; j < k; ++j) {
    mean_dy[j] = static_cast<float>(sum_dy[j] / static_cast<double>(n));
    mean_dy_xhat[j] = static_cast<float>(sum_dy_xhat[j] / static_cast<double>(n));
    factor[j] = g[j] * is[j];
  }
  float* out = dx->data();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < k; ++j) {
      out[i * k + j] = factor[j] * (d[i * k + j] - mean_dy[j] - xh[i * k + j] * mean_dy_xhat[j]);
    }
  }
}

const bool kRegistered = Kernels<BatchNormForwardOp>::Register<CpuBackend>(BatchNormForward) &&
                         Kernels<BatchNormBackwardOp>::Register<CpuBackend>(BatchNormBackward);

}  // namespace
}  // namespace fanin::ops::internal
