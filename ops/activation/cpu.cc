// The activations on the CPU, forward and backward side by side. Forward: the activations
// oneDNN has run as its element-wise primitive (1 ulp tanh, vectorized for the machine); the
// rest are loops of the table's formula (ops/activation/math.h) that GCC vectorizes, one
// instantiation per activation, compiled per x86-64 level (cpu/isa_clones.h).
#include <algorithm>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>

#include "cpu/cpu_backend.h"
#include "cpu/isa_clones.h"
#include "cpu/onednn.h"
#include "cpu/parallel.h"
#include "ops/activation/math.h"
#include "ops/activation/op.h"
#include "ops/dispatch.h"
#include "ops/stats/cpu.h"
#include "ops/stats/slot.h"

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

// The statistics of z and a (each when its StatsOut is given), chunk by chunk; with
// `activate`, each chunk is activated between the two summaries, so that both read it from L1
// around the activation that reads z and writes a: one pass over memory, and z is summarized
// before an in-place activation overwrites it. For oneDNN's activations (activate false) the
// summary is a second pass, over a layer the activation has just left in cache.
void SummarizeForward(int threads, ActivationSpec act, const float* zs, float* as, int64_t n,
                      const StatsOut* z_out, const StatsOut* a_out, bool activate) {
  float first_a = 0.0f;  // a's shift: f(z[0]), known before the pass only by computing it
  if (n > 0 && a_out != nullptr) {
    if (activate) {
      Forward(act, zs, &first_a, 1);
    } else {
      first_a = as[0];
    }
  }
  const float z_shift = n > 0 ? ShiftOf(zs[0]) : 0.0f;
  std::optional<TensorSummary> z_summary, a_summary;
  if (z_out != nullptr) z_summary.emplace(n, z_shift, *z_out, threads);
  if (a_out != nullptr) a_summary.emplace(n, ShiftOf(first_a), *a_out, threads);
  ParallelFor(TensorSummary::Chunks(n), threads, 1, n * TensorSummary::kWorkPerValue,
              [&](int64_t begin, int64_t end) {
    const int thread = omp_get_thread_num();
    for (int64_t c = begin; c < end; ++c) {
      const int64_t start = c * TensorSummary::kChunk;
      const int64_t length = std::min(TensorSummary::kChunk, n - start);
      if (z_summary) z_summary->Add(thread, c, zs + start, length);
      if (activate) Forward(act, zs + start, as + start, length);
      if (a_summary) a_summary->Add(thread, c, as + start, length);
    }
  });
  if (z_summary) z_summary->Finish();
  if (a_summary) a_summary->Finish();
}

void ActivationForward(Backend& backend, ActivationSpec act, const Tensor& z, Tensor& a,
                       const ForwardStats* stats) {
  auto& cpu = static_cast<CpuBackend&>(backend);
  const int threads = cpu.num_threads();
  const float* zs = z.data();
  float* as = a.data();
  const int64_t n = z.size();
  const StatsOut* z_out = stats != nullptr ? &stats->z : nullptr;
  const StatsOut* a_out = stats != nullptr ? &stats->a : nullptr;
  if (act.kind == Activation::kLinear) {  // a copy, or nothing in place
    if (as != zs) std::memcpy(as, zs, static_cast<size_t>(n) * sizeof(float));
    if (stats != nullptr) SummarizeForward(threads, act, zs, as, n, z_out, a_out, false);
    return;
  }
  const dnnl::algorithm algorithm = OnednnAlgorithm(act.kind);
  if (algorithm != dnnl::algorithm::undef) {
    if (stats != nullptr && as == zs) {  // z is about to be overwritten: summarize it first
      SummarizeForward(threads, act, zs, as, n, z_out, nullptr, false);
      z_out = nullptr;
    }
    cpu.onednn().Eltwise(algorithm, act.alpha, zs, as, n);
    if (stats != nullptr) SummarizeForward(threads, act, zs, as, n, z_out, a_out, false);
    return;
  }
  if (stats != nullptr) {
    SummarizeForward(threads, act, zs, as, n, z_out, a_out, true);
    return;
  }
  ParallelFor(n, threads, 64, n, [&](int64_t begin, int64_t end) {
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
                           Tensor& a, const ForwardStats* stats) {
  AddBias(bias.data(), z.data(), z.rows(), z.cols());
  // The bias pass leaves z in cache (W1's layers are 400 kB), so applying f as a second
  // pass costs little and lets the transcendental activations use oneDNN's kernels.
  ActivationForward(backend, act, z, a, stats);
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
