// The numeric operations that layers, losses and optimizers are made of, on whichever backend
// their tensors live. Each is a unit in ops/<op>/ (the math, the CPU and CUDA implementations,
// the double reference, the test cases and the benchmark; docs/extending.md).
//
// Every op validates its arguments here, once, for every backend: all tensors defined and on
// one backend, shapes that conform; a failure throws std::invalid_argument naming the op, the
// tensors and their shapes. Then it runs the implementation registered for that backend. Ops
// enqueue work: on an asynchronous backend (CUDA) they return before it is done; only Stats
// waits, because it returns host values.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "fanin/activation.h"
#include "fanin/random.h"
#include "fanin/tensor.h"

namespace fanin {

// How a binary cross-entropy reads the network's output.
enum class BceInput {
  kLogits,         // output is z; loss max(z,0) - z*y + log1p(exp(-|z|)), stable for any z
  kProbabilities,  // output is p = sigmoid(z); p clipped to [1e-7, 1 - 1e-7] like Keras
};

// One SGD step over a flat parameter buffer, Keras semantics:
//   v = momentum * v - lr * g;  p += v               (nesterov: p += momentum * v - lr * g)
// and p -= lr * g when momentum == 0 (no velocity buffer needed).
struct SgdStep {
  float learning_rate = 0.01f;
  float momentum = 0.0f;
  bool nesterov = false;
};

// One Adam step (Keras 2 semantics), t >= 1 the step number:
//   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
//   p -= lr * sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + epsilon)
struct AdamStep {
  float learning_rate = 0.001f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float epsilon = 1e-7f;
  int64_t t = 1;
};

// The most histogram bins a statistic may have: a million per tensor is already far more
// than a plot resolves, and a larger count is more likely a mistake that would allocate
// gigabytes per step.
inline constexpr int kMaxHistogramBins = 1 << 20;

// Binning for Stats: `bins` equal bins over [lo, hi], or over the tensor's own [min, max]
// when `auto_range` (a constant tensor then puts everything in the middle bin). Stats
// throws std::invalid_argument for bins outside [0, kMaxHistogramBins], or a fixed range
// whose bounds are not finite with lo <= hi.
struct HistogramSpec {
  int bins = 0;
  bool auto_range = true;
  float lo = 0.0f;
  float hi = 0.0f;
};

// Statistics of one tensor. count is the number of elements, NaN and Inf included;
// mean/std/min/max are over the finite values only (std is the population std, as numpy's
// default), and are 0 when there are none.
struct TensorStats {
  int64_t count = 0;
  int64_t nan_count = 0;
  int64_t inf_count = 0;
  double mean = 0.0;
  double std = 0.0;
  double min = 0.0;
  double max = 0.0;
  float hist_lo = 0.0f;
  float hist_hi = 0.0f;
  std::vector<int64_t> histogram;  // values outside [hist_lo, hist_hi] are not counted
};

namespace ops {

// ---- ops/fill -------------------------------------------------------------------------------
void Fill(Tensor& t, float value);
// Element i of t gets the i-th value of the Philox stream described in random.h.
void FillRandom(Tensor& t, const RandomSpec& spec);

// ---- ops/gemm: BLAS ---------------------------------------------------------------------------
// c = alpha * op(a) * op(b) + beta * c for 2-D tensors, op = transpose when asked. beta = 0
// ignores c (which may hold NaN), as BLAS specifies.
void Gemm(const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b, float alpha,
          float beta, Tensor& c);
// y += alpha * x (same size).
void Axpy(float alpha, const Tensor& x, Tensor& y);

// ---- ops/dense --------------------------------------------------------------------------------
// A dense layer's forward pass: z = x w + bias (bias [k] broadcast over the n rows of
// z [n x k]), then a = act(z); `a` may alias `z`. One op, so that a backend can fuse the bias
// into the GEMM's output pass (oneDNN's matmul bias, cuBLASLt's bias epilogue).
void DenseForward(const Tensor& x, const Tensor& w, const Tensor& bias, ActivationSpec act,
                  Tensor& z, Tensor& a);

// ---- ops/activation: forward and backward -----------------------------------------------------
// These and DenseForward refuse, as CheckActivation does, a spec that ParseActivation could not
// have given (an alpha for an activation without a parameter, a non-finite alpha).
// z [n x k] += bias [k] broadcast over rows, then a = act(z). `a` may alias `z`.
void BiasActivationForward(ActivationSpec act, const Tensor& bias, Tensor& z, Tensor& a);
// a = act(z). `a` may alias `z`.
void ActivationForward(ActivationSpec act, const Tensor& z, Tensor& a);
// dz = da * act'(z), with act' computed from z or from a = act(z) as is cheaper; and, when
// bias_grad is given, bias_grad [k] = sum over rows of dz [n x k] in a fixed order (the same
// bits on any thread count). dz may alias da.
void ActivationBackward(ActivationSpec act, const Tensor& z, const Tensor& a, const Tensor& da,
                        Tensor& dz, Tensor* bias_grad);

// ---- ops/bce: sigmoid + binary cross-entropy ---------------------------------------------------
// Binary cross-entropy of `output` [n x 1] against `labels` [n x 1] (0 or 1, or soft).
// Writes totals[2*slot] = sum over the n samples of the loss and totals[2*slot+1] = the
// number of correct predictions (output above 0 for logits, 0.5 for probabilities, compared
// with label >= 0.5; a NaN output is never correct); and, when grad is given,
// grad = dLoss_i/doutput_i * grad_scale (for logits: (sigmoid(z) - y) * grad_scale).
// Summation order is fixed.
void BinaryCrossEntropy(BceInput input, const Tensor& output, const Tensor& labels,
                        float grad_scale, Tensor* grad, Tensor& totals, int64_t slot);

// ---- ops/sgd, ops/adam: one call over a whole flat parameter buffer ---------------------------
// velocity may be null when step.momentum == 0.
void SgdUpdate(const SgdStep& step, Tensor& params, const Tensor& grads, Tensor* velocity);
void AdamUpdate(const AdamStep& step, Tensor& params, const Tensor& grads, Tensor& m, Tensor& v);

// ---- ops/gather -------------------------------------------------------------------------------
// dst row r = src row indices[r] (indices are host values, each in [0, src.rows())).
void GatherRows(const Tensor& src, std::span<const int64_t> indices, Tensor& dst);

// ---- ops/stats --------------------------------------------------------------------------------
// Statistics of each tensor (all on one backend), computed where the tensors live; one wait
// for all of them.
std::vector<TensorStats> Stats(std::span<const Tensor* const> tensors,
                               const HistogramSpec& histogram);

}  // namespace ops
}  // namespace fanin
