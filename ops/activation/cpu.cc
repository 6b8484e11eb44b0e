// The activations on the CPU, forward and backward side by side. Forward: the activations
// oneDNN has run as its element-wise primitive (1 ulp tanh, vectorized for the machine); the
// rest are loops of the table's formula (ops/activation/math.h) that GCC vectorizes, one
// instantiation per activation, compiled per x86-64 level (cpu/isa_clones.h).
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "cpu/cpu_backend.h"
#include "cpu/isa_clones.h"
#include "cpu/onednn.h"
#include "cpu/parallel.h"
#include "ops/activation/math.h"
#include "ops/activation/op.h"
#include "ops/dispatch.h"

namespace fanin::ops::internal {
namespace {

// dz = da * f'(z, a) over a block of rows x cols with row stride ld and, when db is given,
// db[c] = the sum of column c of dz, accumulated row by row in a fixed order (so it does not
// depend on the vector width or on threads) while dz is written: one pass over the memory.
template <Activation kAct>
[[gnu::always_inline]] inline void BackwardLoop(float alpha, const float* z, const float* a,
                                                const float* da, float* dz, float* db, int64_t rows,
                                                int64_t cols, int64_t ld) {
  if (db != nullptr) std::fill_n(db, cols, 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t o = r * ld;
    if (db == nullptr) {
#pragma omp simd
      for (int64_t c = 0; c < cols; ++c)
        dz[o + c] = da[o + c] * Derivative<kAct>(z[o + c], a[o + c], alpha);
      continue;
    }
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) {
      const float g = da[o + c] * Derivative<kAct>(z[o + c], a[o + c], alpha);
      dz[o + c] = g;
      db[c] += g;
    }
  }
}

FANIN_ISA_CLONES void Backward(ActivationSpec act, const float* z, const float* a, const float* da,
                               float* dz, float* db, int64_t rows, int64_t cols, int64_t ld) {
  switch (act.kind) {
#define FANIN_X(tag, ...) \
  case Activation::tag:   \
    return BackwardLoop<Activation::tag>(act.alpha, z, a, da, dz, db, rows, cols, ld);
    FANIN_ACTIVATIONS(FANIN_X)
#undef FANIN_X
  }
  throw std::invalid_argument("ActivationBackward: unknown activation " +
                              std::to_string(static_cast<int>(act.kind)));
}

// a = f(z) as a loop of the table's formula, for the activations oneDNN does not compute.
template <Activation kAct>
[[gnu::always_inline]] inline void ForwardLoop(float alpha, const float* z, float* a, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) a[i] = Activate<kAct>(z[i], alpha);
}

FANIN_ISA_CLONES void Forward(ActivationSpec act, const float* z, float* a, int64_t n) {
  switch (act.kind) {
#define FANIN_X(tag, ...) \
  case Activation::tag:   \
    return ForwardLoop<Activation::tag>(act.alpha, z, a, n);
    FANIN_ACTIVATIONS(FANIN_X)
#undef FANIN_X
  }
  throw std::invalid_argument("ActivationForward: unknown activation " +
                              std::to_string(static_cast<int>(act.kind)));
}

// The table's oneDNN column: the eltwise algorithm that computes f, or undef.
dnnl::algorithm OnednnAlgorithm(Activation act) {
  switch (act) {
#define FANIN_X(tag, name, alias, param, reads, onednn, ...) \
  case Activation::tag:                                      \
    return dnnl::algorithm::onednn;
    FANIN_ACTIVATIONS(FANIN_X)
#undef FANIN_X
  }
  return dnnl::algorithm::undef;
}

void ActivationForward(Backend& backend, ActivationSpec act, const Tensor& z, Tensor& a) {
  auto& cpu = static_cast<CpuBackend&>(backend);
  const float* zs = z.data();
  float* as = a.data();
  const int64_t n = z.size();
  if (act.kind == Activation::kLinear) {  // a copy, or nothing in place
    if (as != zs) std::memcpy(as, zs, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  const dnnl::algorithm algorithm = OnednnAlgorithm(act.kind);
  if (algorithm != dnnl::algorithm::undef) {
    return cpu.onednn().Eltwise(algorithm, act.alpha, zs, as, n);
  }
  ParallelFor(n, cpu.num_threads(), 64, n, [&](int64_t begin, int64_t end) {
    Forward(act, zs + begin, as + begin, end - begin);
  });
}

// z [rows x cols] += b [cols] broadcast over the rows. Per ISA level like the activation loops:
// the baseline copy alone, 4 floats an iteration, ran 1.4x slower when a change elsewhere in this
// file moved the loop across a 32-byte boundary of the decoded-instruction cache.
FANIN_ISA_CLONES void AddBias(const float* b, float* z, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    float* zr = z + r * cols;
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) zr[c] += b[c];
  }
}

void BiasActivationForward(Backend& backend, ActivationSpec act, const Tensor& bias, Tensor& z,
                           Tensor& a) {
  AddBias(bias.data(), z.data(), z.rows(), z.cols());
  // The bias pass leaves z in cache (W1's layers are 400 kB), so applying f as a second
  // pass costs little and lets the transcendental activations use oneDNN's kernels.
  ActivationForward(backend, act, z, a);
}

// dz = da * f'(z, a), and the bias gradient as the column sums of dz.
void ActivationBackward(Backend& backend, ActivationSpec act, const Tensor& z, const Tensor& a,
                        const Tensor& da, Tensor& dz, Tensor* bias_grad) {
  const int threads = static_cast<CpuBackend&>(backend).num_threads();
  const int64_t rows = z.rows(), cols = z.cols();
  const float* zs = z.data();
  const float* as = a.data();
  const float* das = da.data();
  float* dzs = dz.data();
  if (bias_grad == nullptr) {  // element-wise: split the flat array
    ParallelFor(z.size(), threads, 64, z.size(), [&](int64_t begin, int64_t end) {
      Backward(act, zs + begin, as + begin, das + begin, dzs + begin, nullptr, 1, end - begin,
               end - begin);
    });
    return;
  }
  // Each thread owns a band of columns, so each column sum keeps its serial order.
  float* db = bias_grad->data();
  ParallelFor(cols, threads, 16, z.size(), [&](int64_t begin, int64_t end) {
    Backward(act, zs + begin, as + begin, das + begin, dzs + begin, db + begin, rows, end - begin,
             cols);
  });
}

const bool kRegistered =
    Kernels<BiasActivationForwardOp>::Register<CpuBackend>(BiasActivationForward) &&
    Kernels<ActivationForwardOp>::Register<CpuBackend>(ActivationForward) &&
    Kernels<ActivationBackwardOp>::Register<CpuBackend>(ActivationBackward);

}  // namespace
}  // namespace fanin::ops::internal
