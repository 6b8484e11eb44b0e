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
#include <limits>
#include <memory>
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

// How the labels of a k-class cross-entropy are given.
enum class ClassLabels {
  kDistribution,  // [n x k]: one-hot rows, or soft ones (each row's labels sum to 1)
  kIndex,         // [n x 1]: the class index 0..k-1 as a float (sparse labels)
};

// What a regression loss averages over a sample's outputs.
enum class ErrorKind {
  kSquared,   // loss mean_j (o_j - y_j)^2, metric the mean absolute error
  kAbsolute,  // loss mean_j |o_j - y_j|,  metric the mean squared error
};

// Which elements a dropout keeps: element i of a batch is kept with probability 1 - rate,
// decided by Philox at counter (i, step, stream) under `seed` (ops/dropout/math.h), so the
// same mask on every backend and thread count, and the backward pass regenerates the forward's
// mask instead of storing it.
struct DropoutMask {
  float rate = 0.0f;  // in [0, 1)
  uint64_t seed = 0;
  uint32_t stream = 0;
  uint64_t step = 0;  // its low 32 bits
};

// Keras's BatchNormalization settings: y = gamma (x - mean) / sqrt(var + epsilon) + beta,
// and moving = momentum moving + (1 - momentum) batch for the moving mean and variance.
struct BatchNormSpec {
  float epsilon = 1e-3f;
  float momentum = 0.99f;
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

// Bins of a log2-magnitude histogram, which needs no range known in advance: a float's bin
// is its top nine bits (sign and biased exponent), bits >> 23. Bins 0-255 hold the values
// with the sign bit clear: bin 0 the zeros and subnormals, bin e in 1-254 |v| in
// [2^(e-127), 2^(e-126)), bin 255 Inf and NaN; bins 256-511 the same for the sign bit set.
// A vanishing gradient shows as counts drifting to low bins, long before it reaches zero.
inline constexpr int kLog2Bins = 512;

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
  // From the fused statistics only (ops::Summarize and the ops that take a StatsOut):
  int64_t zero_count = 0;               // exact zeros of either sign (dead ReLU units)
  int64_t saturated_count = 0;          // values outside the StatsOut's SaturationBand
  std::vector<int64_t> log2_histogram;  // kLog2Bins counts when asked for, else empty

  // sqrt(sum of squares) of the finite values.
  double Norm() const;
};

// ---- Fused statistics: written by the pass that produces a tensor ---------------------------
// Values a pass counts as saturated: v < lo or v > hi (tanh: |v| > 0.99 is {-0.99, 0.99};
// sigmoid: {0.01, 0.99}). The default counts none; NaN is never saturated.
struct SaturationBand {
  float lo = -std::numeric_limits<float>::infinity();
  float hi = std::numeric_limits<float>::infinity();
};

// Memory on a backend for the statistics of `slots` tensors: ops that are given a StatsOut
// write one slot each (the whole slot: nothing needs clearing between steps), and Read()
// brings every slot to the host in one copy, the step's one wait. Per slot: counts, min, max,
// the sum and the sum of squares of v - shift in double (shift: the tensor's first value when
// finite, so that the variance loses no digits to a large mean), and, when log2_histograms,
// the log2-magnitude histogram.
class StatsBuffer {
 public:
  StatsBuffer() = default;
  // Throws std::invalid_argument for slots < 1.
  StatsBuffer(std::shared_ptr<Backend> backend, int64_t slots, bool log2_histograms);

  int64_t slots() const { return slots_; }
  bool log2_histograms() const { return log2_histograms_; }
  // Raw storage, for the implementations (ops/stats/slot.h gives its layout).
  Tensor& storage() { return storage_; }
  const Tensor& storage() const { return storage_; }
  // Every slot's statistics, mean and std derived as TensorStats defines them. A slot no op
  // wrote since the buffer was made holds zeros.
  std::vector<TensorStats> Read() const;

 private:
  Tensor storage_;
  int64_t slots_ = 0;
  bool log2_histograms_ = false;
};

// Where an op writes the statistics of a tensor it produces.
struct StatsOut {
  StatsBuffer* buffer = nullptr;
  int64_t slot = 0;
  SaturationBand saturation;
};

// The statistics a forward op computes of its z and of its activation a (both, or neither).
struct ForwardStats {
  StatsOut z;
  StatsOut a;
};

// A parameter tensor's place in a flat parameter buffer, in floats.
struct ParameterExtent {
  int64_t offset = 0;
  int64_t size = 0;
};

// The statistics an optimizer step computes, per extent i of the flat buffers: slot
// first_slot + 3 i gets the parameter as the step found it, + 3 i + 1 its gradient, and
// + 3 i + 2 the update the step applied (new value - old value, as rounded in float).
// Values between extents (alignment padding) are not summarized.
struct ParameterStats {
  StatsBuffer* buffer = nullptr;
  std::span<const ParameterExtent> extents;
  int64_t first_slot = 0;
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
// With `stats`, the statistics of z and a, in the same call.
void DenseForward(const Tensor& x, const Tensor& w, const Tensor& bias, ActivationSpec act,
                  Tensor& z, Tensor& a, const ForwardStats* stats = nullptr);

// ---- ops/activation: forward and backward -----------------------------------------------------
// These and DenseForward refuse, as CheckActivation does, a spec that ParseActivation could not
// have given (an alpha for an activation without a parameter, a non-finite alpha).
// With `stats`, they also write the statistics of z (after the bias) and a, from the pass
// that writes a; with a aliasing z, give the same statistics for both or only need one.
// z [n x k] += bias [k] broadcast over rows, then a = act(z). `a` may alias `z`.
void BiasActivationForward(ActivationSpec act, const Tensor& bias, Tensor& z, Tensor& a,
                           const ForwardStats* stats = nullptr);
// a = act(z). `a` may alias `z`.
void ActivationForward(ActivationSpec act, const Tensor& z, Tensor& a,
                       const ForwardStats* stats = nullptr);
// dz = da * act'(z), with act' computed from z or from a = act(z) as is cheaper; and, when
// bias_grad is given, bias_grad [k] = sum over rows of dz [n x k] in a fixed order (the same
// bits on any thread count). dz may alias da.
void ActivationBackward(ActivationSpec act, const Tensor& z, const Tensor& a, const Tensor& da,
                        Tensor& dz, Tensor* bias_grad);

// ---- The losses' ops: each writes, into totals[2*slot] and totals[2*slot+1], the sum over the
// n samples of the loss and of the loss's metric (a count of correct predictions, or an error
// sum), and, when grad is given, grad = dLoss_i/doutput * grad_scale; loss and gradient in one
// pass, summed in a fixed order (the same bits on any thread count), NaN outputs giving a NaN
// loss and never counted correct. label_smoothing in [0, 1] (Keras's): the labels are
// y (1 - label_smoothing) + label_smoothing / c first, c = 2 for binary, k for k classes.

// ---- ops/bce: sigmoid + binary cross-entropy --------------------------------------------------
// `output` [n x 1] against `labels` [n x 1] (0 or 1, or soft); the metric counts correct
// predictions: output above 0 for logits, 0.5 for probabilities, against label >= 0.5 (the
// label before smoothing). For logits grad = (sigmoid(z) - y) * grad_scale.
void BinaryCrossEntropy(BceInput input, float label_smoothing, const Tensor& output,
                        const Tensor& labels, float grad_scale, Tensor* grad, Tensor& totals,
                        int64_t slot);

// ---- ops/softmax_ce: softmax + categorical cross-entropy, from logits -------------------------
// `logits` z [n x k]; per sample loss = sum_j y_j (lse(z) - z_j), lse(z) = m + log sum_j
// exp(z_j - m), m = max_j z_j (no exp overflows; finite for any finite z), and
// dLoss/dz_j = (sum_i y_i) softmax(z)_j - y_j. The metric counts argmax z == argmax y (the
// first largest, as numpy). An index label outside 0..k-1 or not an integer gives that
// sample a NaN loss and gradient (the losses check labels before they reach the op).
void SoftmaxCrossEntropy(ClassLabels labels_kind, float label_smoothing, const Tensor& logits,
                         const Tensor& labels, float grad_scale, Tensor* grad, Tensor& totals,
                         int64_t slot);

// Row-wise softmax of z [n x k] in place (the categorical losses' Predict): exp(z_j - m) / s
// with the same m and s as the loss, so a row's probabilities sum to 1 within k ulps.
void Softmax(Tensor& z);

// ---- ops/regression_loss: mean squared or absolute error --------------------------------------
// `output` [n x k] against `targets` [n x k], the mean over the k outputs per sample (Keras's);
// dLoss/do_j = 2 (o_j - y_j) / k, or sign(o_j - y_j) / k (0 where they are equal).
void RegressionLoss(ErrorKind kind, const Tensor& output, const Tensor& targets, float grad_scale,
                    Tensor* grad, Tensor& totals, int64_t slot);

// ---- ops/batch_norm: normalization over the batch, per feature ----------------------------
// x [n x k]; gamma, beta, moving_mean, moving_var, inv_std [k]; xhat, y [n x k].
// training (n >= 1): mean_j and var_j = mean_i (x_ij - mean_j)^2 (over n, as the
// normalization uses it) of the batch, summed in double in row order; inv_std_j =
// 1 / sqrt(var_j + epsilon); xhat = (x - mean) inv_std, y = gamma xhat + beta; the moving
// statistics take one momentum step towards the batch's. Inference: the moving statistics
// in place of the batch's, inv_std and the moving statistics untouched.
void BatchNormForward(const BatchNormSpec& spec, bool training, const Tensor& x,
                      const Tensor& gamma, const Tensor& beta, Tensor& moving_mean,
                      Tensor& moving_var, Tensor& xhat, Tensor& y, Tensor& inv_std);
// The training forward's gradients: dbeta_j = sum_i dy_ij, dgamma_j = sum_i dy_ij xhat_ij,
// and, when dx is given, dx = gamma inv_std (dy - (dbeta + xhat dgamma) / n), the batch's
// mean and variance differentiated too. Sums in double in row order.
void BatchNormBackward(const Tensor& dy, const Tensor& xhat, const Tensor& gamma,
                       const Tensor& inv_std, Tensor& dgamma, Tensor& dbeta, Tensor* dx);

// ---- ops/dropout: inverted dropout with counter-based masks ---------------------------------
// out_i = keep_i ? in_i / (1 - rate) : 0: the forward pass on x, and with the same mask the
// backward pass on dy. `out` may alias `in`. At most 2^32 elements.
void Dropout(const DropoutMask& mask, const Tensor& in, Tensor& out);

// ---- ops/sgd, ops/adam: one call over a whole flat parameter buffer ---------------------------
// velocity may be null when step.momentum == 0. With `stats`, the same pass summarizes each
// parameter, its gradient and its update (ParameterStats); the update is unchanged by it.
void SgdUpdate(const SgdStep& step, Tensor& params, const Tensor& grads, Tensor* velocity,
               const ParameterStats* stats = nullptr);
void AdamUpdate(const AdamStep& step, Tensor& params, const Tensor& grads, Tensor& m, Tensor& v,
                const ParameterStats* stats = nullptr);

// ---- ops/gather -------------------------------------------------------------------------------
// dst row r = src row indices[r] (indices are host values, each in [0, src.rows())).
void GatherRows(const Tensor& src, std::span<const int64_t> indices, Tensor& dst);

// ---- ops/stats --------------------------------------------------------------------------------
// Statistics of each tensor (all on one backend), computed where the tensors live; one wait
// for all of them.
std::vector<TensorStats> Stats(std::span<const Tensor* const> tensors,
                               const HistogramSpec& histogram);
// The fused statistics of t, written to out's slot in one pass (for a tensor no fused pass
// produces, such as the parameters of a step without an update). Enqueues; read the buffer.
void Summarize(const Tensor& t, const StatsOut& out);

}  // namespace ops
}  // namespace fanin
