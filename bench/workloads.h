// The benchmark workloads of ../shared/bench/WORKLOADS.md, built exactly as specified there
// (splitmix64 data and weights, no library RNG), so that fanin on every backend and any
// peer framework fed from the same arrays compute the same losses before they are timed.
//
//   fanin::bench::MlpInstance w1 = fanin::bench::Instantiate(fanin::bench::W1(), backend);
//   w1.model.TrainStep(w1.x, w1.y);
//   double loss = fanin::bench::MeanLoss(w1);  // W1().reference_losses[1] within ~1e-5
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fanin/fanin.h"

namespace fanin::bench {

// The generators of WORKLOADS.md: splitmix64's output function, u01 in [0, 1) with 24
// bits (exact in float) and sym = 2 u01 - 1 in [-1, 1).
uint64_t SplitMix64(uint64_t z);
double U01(uint64_t seed, uint64_t index);
double Sym(uint64_t seed, uint64_t index);

// The optimizer steps after which WORKLOADS.md gives a reference loss.
inline constexpr std::array<int, 3> kReferenceSteps = {0, 1, 10};

// An MLP workload: Dense layers of `units` (the last one gives the logits, no activation),
// `hidden_activation` after every other one, fused sigmoid-BCE on logits, plain SGD on one
// full batch.
struct MlpWorkload {
  std::string name;  // "W1", "W2"
  int64_t batch = 0;
  int64_t input_features = 0;
  std::vector<int64_t> units;
  Activation hidden_activation = Activation::kLinear;
  float learning_rate = 0.0f;
  // Mean BCE after kReferenceSteps[i] SGD steps (float32 references of WORKLOADS.md).
  std::array<double, 3> reference_losses{};
};

const MlpWorkload& W1();  // "block": 10-100x5-1, tanh, B = 1000
const MlpWorkload& W2();  // "wide": 256-1024x4-1, relu, B = 1024

// X [batch x input_features] row-major, X[i][j] = sym(1, i*D + j).
std::vector<float> Inputs(const MlpWorkload& workload);
// y [batch]: 1 where X[i][0] * X[i][1] > 0, else 0.
std::vector<float> Labels(const std::vector<float>& inputs, const MlpWorkload& workload);
// Every parameter in fanin's flat layout: per Dense layer, in order, the kernel
// [in x out] row-major (the spec's [out x in] weight transposed) and then the bias [out].
std::vector<float> FlatParameters(const MlpWorkload& workload);

// One GEMM call c = op(a) op(b) with c [m x n] and inner dimension k.
struct GemmShape {
  int64_t m = 0, n = 0, k = 0;
  bool transpose_a = false, transpose_b = false;
  double flops() const {
    return 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  }
};
// The GEMM calls of one fanin training step, in the order Dense makes them: per layer
// forward x W (NN); then, from the last layer down, dW = x^T dz (TN) and, except for
// the first layer, dx = dz W^T (NT).
std::vector<GemmShape> StepGemms(const MlpWorkload& workload);
// Sum over Dense layers of 2 * batch * in * out.
double ForwardFlops(const MlpWorkload& workload);
// The FLOP count behind every GFLOP/s figure: 3 x forward (WORKLOADS.md's nominal step).
double StepFlops(const MlpWorkload& workload);

// A built workload: the model with the spec's weights, and the batch on its backend.
struct MlpInstance {
  Sequential model;
  Tensor x;
  Tensor y;
};
MlpInstance Instantiate(const MlpWorkload& workload, std::shared_ptr<Backend> backend);
// The mean BCE of the model on its batch as it is now (a forward pass, no update).
double MeanLoss(MlpInstance& instance);

// W3: an n x n operand filled with sym(seed, i) in row-major order (A: seed 11, B: 12).
std::vector<float> SquareGemmOperand(int64_t n, uint64_t seed);

}  // namespace fanin::bench
