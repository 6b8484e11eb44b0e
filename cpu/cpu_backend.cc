#include "cpu/cpu_backend.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

#include "cpu/isa_clones.h"
#include "cpu/onednn.h"
#include "cpu/parallel.h"
#include "cpu/tensor_stats.h"
#include "ops/activation/activations.h"
#include "src/backend_registry.h"
#include "src/shape_check.h"

namespace fanin {
namespace {

// dz = da * f'(z, a) over a block of rows x cols with row stride ld and, when db is given,
// db[c] = the sum of column c of dz, accumulated row by row in a fixed order (so it does not
// depend on the vector width or on threads) while dz is written: one pass over the memory.
template <Activation kAct>
[[gnu::always_inline]] inline void BackwardLoop(const float* z, const float* a, const float* da,
                                                float* dz, float* db, int64_t rows, int64_t cols,
                                                int64_t ld) {
  if (db != nullptr) std::fill_n(db, cols, 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t o = r * ld;
    if (db == nullptr) {
#pragma omp simd
      for (int64_t c = 0; c < cols; ++c)
        dz[o + c] = da[o + c] * Derivative<kAct>(z[o + c], a[o + c]);
      continue;
    }
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) {
      const float g = da[o + c] * Derivative<kAct>(z[o + c], a[o + c]);
      dz[o + c] = g;
      db[c] += g;
    }
  }
}

FANIN_ISA_CLONES void Backward(Activation act, const float* z, const float* a, const float* da,
                               float* dz, float* db, int64_t rows, int64_t cols, int64_t ld) {
  switch (act) {
#define FANIN_X(tag, ...) \
  case Activation::tag:   \
    return BackwardLoop<Activation::tag>(z, a, da, dz, db, rows, cols, ld);
    FANIN_ACTIVATIONS(FANIN_X)
#undef FANIN_X
  }
  throw std::invalid_argument("ActivationBackward: unknown activation " +
                              std::to_string(static_cast<int>(act)));
}

// a = f(z) as a loop of the table's formula, for the activations oneDNN does not compute.
template <Activation kAct>
[[gnu::always_inline]] inline void ForwardLoop(const float* z, float* a, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) a[i] = Activate<kAct>(z[i]);
}

FANIN_ISA_CLONES void Forward(Activation act, const float* z, float* a, int64_t n) {
  switch (act) {
#define FANIN_X(tag, ...) \
  case Activation::tag:   \
    return ForwardLoop<Activation::tag>(z, a, n);
    FANIN_ACTIVATIONS(FANIN_X)
#undef FANIN_X
  }
  throw std::invalid_argument("ActivationForward: unknown activation " +
                              std::to_string(static_cast<int>(act)));
}

// The table's oneDNN column: the eltwise algorithm that computes f, or undef.
dnnl::algorithm OnednnAlgorithm(Activation act) {
  switch (act) {
#define FANIN_X(tag, name, reads, onednn, ...) \
  case Activation::tag:                        \
    return dnnl::algorithm::onednn;
    FANIN_ACTIVATIONS(FANIN_X)
#undef FANIN_X
  }
  return dnnl::algorithm::undef;
}

// c = alpha op(a) op(b) + beta c as a plain loop, for products too small to be worth a
// oneDNN call (see CpuBackend::Gemm). Each dot product sums in order of p.
void TinyGemm(const float* a, bool transpose_a, const float* b, bool transpose_b, float* c,
              int64_t m, int64_t n, int64_t k, float alpha, float beta) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      float dot = 0.0f;
      for (int64_t p = 0; p < k; ++p) {
        dot += (transpose_a ? a[p * m + i] : a[i * k + p]) *
               (transpose_b ? b[j * k + p] : b[p * n + j]);
      }
      // beta = 0 means "ignore c" (it may hold NaN), as BLAS specifies.
      float& out = c[i * n + j];
      out = beta == 0.0f ? alpha * dot : alpha * dot + beta * out;
    }
  }
}

// Below this many multiply-adds a product is over before a oneDNN call has dispatched it
// (about 1 us of argument checking per call): the activation study's 16 x 2 x 2 layers
// spent 23% of their time in libdnnl outside the kernels.
constexpr int64_t kTinyGemmMacs = 4096;

// sigmoid(z) without overflow for any z.
inline float StableSigmoid(float z) {
  if (z >= 0.0f) return 1.0f / (1.0f + std::exp(-z));
  const float e = std::exp(z);
  return e / (1.0f + e);
}

constexpr float kProbabilityEpsilon = 1e-7f;  // Keras's backend epsilon

}  // namespace

CpuBackend::CpuBackend(const BackendOptions& options)
    : num_threads_(options.num_threads > 0
                       ? options.num_threads
                       : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))),
      onednn_(std::make_unique<OneDnn>(num_threads_)) {}

CpuBackend::~CpuBackend() = default;

std::string CpuBackend::Describe() const {
  const dnnl_version_t* v = dnnl_version();
  return "CPU, " + std::to_string(num_threads_) + " thread" + (num_threads_ == 1 ? "" : "s") +
         ", oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
         std::to_string(v->patch);
}

std::shared_ptr<float> CpuBackend::Allocate(int64_t count) {
  if (count == 0) return nullptr;
  // 64-byte alignment: whole cache lines, and full AVX-512 vectors for the loops.
  const size_t bytes = (static_cast<size_t>(count) * sizeof(float) + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, bytes);
  if (p == nullptr) {
    throw std::runtime_error("CPU backend: out of memory allocating " + std::to_string(bytes) +
                             " bytes");
  }
  return std::shared_ptr<float>(static_cast<float*>(p), [](float* q) { std::free(q); });
}

void CpuBackend::CopyFromHost(const float* host_src, float* dst, int64_t count) {
  std::memcpy(dst, host_src, static_cast<size_t>(count) * sizeof(float));
}
void CpuBackend::CopyToHost(const float* src, float* host_dst, int64_t count) {
  std::memcpy(host_dst, src, static_cast<size_t>(count) * sizeof(float));
}
void CpuBackend::CopyOnDevice(const float* src, float* dst, int64_t count) {
  std::memmove(dst, src, static_cast<size_t>(count) * sizeof(float));
}

void CpuBackend::Fill(Tensor& t, float value) { std::fill_n(t.data(), t.size(), value); }

void CpuBackend::FillRandom(Tensor& t, const RandomSpec& spec) {
  float* out = t.data();
  const int64_t n = t.size();
  for (int64_t i = 0; i < n; ++i) out[i] = RandomValue(spec, static_cast<uint64_t>(i));
}

void CpuBackend::Gemm(const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b,
                      float alpha, float beta, Tensor& c) {
  const GemmDims d = CheckGemm(a, transpose_a, b, transpose_b, c);
  if (d.m == 0 || d.n == 0) return;
  if (d.m * d.n * d.k <= kTinyGemmMacs) {  // k = 0 included: c = beta c
    TinyGemm(a.data(), transpose_a, b.data(), transpose_b, c.data(), d.m, d.n, d.k, alpha, beta);
    return;
  }
  onednn_->Gemm(a.data(), transpose_a, b.data(), transpose_b, nullptr, c.data(), d.m, d.n, d.k,
                alpha, beta);
}

// The bias rides in the GEMM's output pass (a oneDNN matmul bias), so z is written once.
void CpuBackend::DenseForward(const Tensor& x, const Tensor& w, const Tensor& bias, Activation act,
                              Tensor& z, Tensor& a) {
  const GemmDims d = CheckGemm(x, false, w, false, z);
  CheckBias("DenseForward", bias, z);
  CheckSameSize("DenseForward", "z", z, "a", a);
  if (d.m == 0 || d.n == 0) return;
  if (d.m * d.n * d.k <= kTinyGemmMacs) {
    Backend::DenseForward(x, w, bias, act, z, a);  // TinyGemm, then the bias and activation
    return;
  }
  onednn_->Gemm(x.data(), false, w.data(), false, bias.data(), z.data(), d.m, d.n, d.k, 1.0f, 0.0f);
  ActivationForward(act, z, a);
}

void CpuBackend::Axpy(float alpha, const Tensor& x, Tensor& y) {
  CheckSameSize("Axpy", "x", x, "y", y);
  const float* in = x.data();
  float* out = y.data();
  const int64_t n = x.size();
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] += alpha * in[i];
}

// ---- Activations: forward and backward side by side -----------------------------------

// Forward: the activations oneDNN has run as its element-wise primitive (1 ulp tanh,
// vectorized for the machine); the rest are loops GCC vectorizes.

void CpuBackend::ActivationForward(Activation act, const Tensor& z, Tensor& a) {
  CheckSameSize("ActivationForward", "z", z, "a", a);
  const float* zs = z.data();
  float* as = a.data();
  const int64_t n = z.size();
  if (act == Activation::kLinear) {  // a copy, or nothing in place
    if (as != zs) std::memcpy(as, zs, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  const dnnl::algorithm algorithm = OnednnAlgorithm(act);
  if (algorithm != dnnl::algorithm::undef) return onednn_->Eltwise(algorithm, zs, as, n);
  ParallelFor(n, num_threads_, 64, n, [&](int64_t begin, int64_t end) {
    Forward(act, zs + begin, as + begin, end - begin);
  });
}

void CpuBackend::BiasActivationForward(Activation act, const Tensor& bias, Tensor& z, Tensor& a) {
  CheckBias("BiasActivationForward", bias, z);
  CheckSameSize("BiasActivationForward", "z", z, "a", a);
  const int64_t rows = z.rows(), cols = z.cols();
  const float* b = bias.data();
  float* zs = z.data();
  for (int64_t r = 0; r < rows; ++r) {
    float* zr = zs + r * cols;
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) zr[c] += b[c];
  }
  // The bias pass leaves z in cache (W1's layers are 400 kB), so applying f as a second
  // pass costs little and lets the transcendental activations use oneDNN's kernels.
  ActivationForward(act, z, a);
}

// Backward: dz = da * f'(z, a), and the bias gradient as the column sums of dz.

void CpuBackend::ActivationBackward(Activation act, const Tensor& z, const Tensor& a,
                                    const Tensor& da, Tensor& dz, Tensor* bias_grad) {
  CheckSameSize("ActivationBackward", "z", z, "a", a);
  CheckSameSize("ActivationBackward", "da", da, "dz", dz);
  CheckSameSize("ActivationBackward", "z", z, "dz", dz);
  if (bias_grad != nullptr) CheckBias("ActivationBackward", *bias_grad, dz);
  const int64_t rows = z.rows(), cols = z.cols();
  const float* zs = z.data();
  const float* as = a.data();
  const float* das = da.data();
  float* dzs = dz.data();
  if (bias_grad == nullptr) {  // element-wise: split the flat array
    ParallelFor(z.size(), num_threads_, 64, z.size(), [&](int64_t begin, int64_t end) {
      Backward(act, zs + begin, as + begin, das + begin, dzs + begin, nullptr, 1, end - begin,
               end - begin);
    });
    return;
  }
  // Each thread owns a band of columns, so each column sum keeps its serial order.
  float* db = bias_grad->data();
  ParallelFor(cols, num_threads_, 16, z.size(), [&](int64_t begin, int64_t end) {
    Backward(act, zs + begin, as + begin, das + begin, dzs + begin, db + begin, rows, end - begin,
             cols);
  });
}

// ---- Loss ---------------------------------------------------------------------------------

void CpuBackend::BinaryCrossEntropy(BceInput input, const Tensor& output, const Tensor& labels,
                                    float grad_scale, Tensor* grad, Tensor& totals, int64_t slot) {
  CheckSameSize("BinaryCrossEntropy", "output", output, "labels", labels);
  if (grad != nullptr) CheckSameSize("BinaryCrossEntropy", "output", output, "grad", *grad);
  if (slot < 0 || 2 * slot + 1 >= totals.size()) {
    throw std::out_of_range("BinaryCrossEntropy: slot " + std::to_string(slot) +
                            " outside totals " + ShapeToString(totals.shape()));
  }
  const float* out = output.data();
  const float* y = labels.data();
  float* g = grad ? grad->data() : nullptr;
  const int64_t n = output.size();
  double loss_sum = 0.0;
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    const bool positive = y[i] >= 0.5f;
    if (input == BceInput::kLogits) {
      // max(z,0) - z y + log(1 + e^-|z|): no exp of a positive number, so finite for any z.
      const float z = out[i];
      loss_sum += std::max(z, 0.0f) - z * y[i] + std::log1p(std::exp(-std::fabs(z)));
      correct += z == z && (z > 0.0f) == positive;  // a NaN prediction is never correct
      if (g) g[i] = (StableSigmoid(z) - y[i]) * grad_scale;
    } else {
      // Keras: p clipped to [eps, 1 - eps]; the clip has zero gradient where it is active.
      // std::clamp keeps a NaN p, which then reaches the loss and the gradient.
      const float p = out[i];
      const float pc = std::clamp(p, kProbabilityEpsilon, 1.0f - kProbabilityEpsilon);
      loss_sum += -(y[i] * std::log(pc) + (1.0f - y[i]) * std::log(1.0f - pc));
      correct += p == p && (p > 0.5f) == positive;
      const bool clipped = p != pc && p == p;
      if (g) g[i] = clipped ? 0.0f : (pc - y[i]) / (pc * (1.0f - pc)) * grad_scale;
    }
  }
  totals.data()[2 * slot] = static_cast<float>(loss_sum);
  totals.data()[2 * slot + 1] = static_cast<float>(correct);
}

// ---- Optimizers ---------------------------------------------------------------------------

void CpuBackend::SgdUpdate(const SgdStep& step, Tensor& params, const Tensor& grads,
                           Tensor* velocity) {
  CheckSameSize("SgdUpdate", "params", params, "grads", grads);
  float* p = params.data();
  const float* g = grads.data();
  const int64_t n = params.size();
  const float lr = step.learning_rate, mu = step.momentum;
  if (mu == 0.0f) {
    ParallelFor(n, num_threads_, 64, n, [&](int64_t begin, int64_t end) {
#pragma omp simd
      for (int64_t i = begin; i < end; ++i) p[i] -= lr * g[i];
    });
    return;
  }
  if (velocity == nullptr) throw std::invalid_argument("SgdUpdate: momentum needs a velocity");
  CheckSameSize("SgdUpdate", "params", params, "velocity", *velocity);
  float* v = velocity->data();
  const bool nesterov = step.nesterov;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    v[i] = mu * v[i] - lr * g[i];
    p[i] += nesterov ? mu * v[i] - lr * g[i] : v[i];
  }
}

void CpuBackend::AdamUpdate(const AdamStep& step, Tensor& params, const Tensor& grads, Tensor& m,
                            Tensor& v) {
  CheckSameSize("AdamUpdate", "params", params, "grads", grads);
  CheckSameSize("AdamUpdate", "params", params, "m", m);
  CheckSameSize("AdamUpdate", "params", params, "v", v);
  const double t = static_cast<double>(step.t);
  const float lr_t =
      static_cast<float>(step.learning_rate * std::sqrt(1.0 - std::pow(step.beta2, t)) /
                         (1.0 - std::pow(step.beta1, t)));
  const float b1 = step.beta1, b2 = step.beta2, eps = step.epsilon;
  float* p = params.data();
  const float* g = grads.data();
  float* ms = m.data();
  float* vs = v.data();
  const int64_t n = params.size();
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    ms[i] = b1 * ms[i] + (1.0f - b1) * g[i];
    vs[i] = b2 * vs[i] + (1.0f - b2) * g[i] * g[i];
    p[i] -= lr_t * ms[i] / (std::sqrt(vs[i]) + eps);
  }
}

// ---- Data movement and statistics ---------------------------------------------------------

void CpuBackend::GatherRows(const Tensor& src, std::span<const int64_t> indices, Tensor& dst) {
  const int64_t cols = src.cols();
  if (dst.rows() != static_cast<int64_t>(indices.size()) || dst.cols() != cols) {
    throw std::invalid_argument("GatherRows: " + std::to_string(indices.size()) + " rows of " +
                                ShapeToString(src.shape()) + " into " + ShapeToString(dst.shape()));
  }
  for (size_t r = 0; r < indices.size(); ++r) {
    const int64_t i = indices[r];
    if (i < 0 || i >= src.rows()) {
      throw std::out_of_range("GatherRows: index " + std::to_string(i) + " outside " +
                              ShapeToString(src.shape()));
    }
    std::memcpy(dst.data() + static_cast<int64_t>(r) * cols, src.data() + i * cols,
                static_cast<size_t>(cols) * sizeof(float));
  }
}

// Tensors are independent, so they are spread over the threads whole: each tensor's
// statistics are computed by one thread in one fixed order, the same bits on any count.
std::vector<TensorStats> CpuBackend::Stats(std::span<const Tensor* const> tensors,
                                           const HistogramSpec& histogram) {
  CheckHistogram(histogram);
  std::vector<TensorStats> all(tensors.size());
  const auto count = static_cast<int64_t>(tensors.size());
  int64_t elements = 0;
  for (const Tensor* t : tensors) elements += t->size();
  const int threads = elements < kParallelMinElements
                          ? 1
                          : static_cast<int>(std::min<int64_t>(num_threads_, count));
#pragma omp parallel for schedule(dynamic) num_threads(threads) if (threads > 1)
  for (int64_t i = 0; i < count; ++i) {
    all[i] = ComputeTensorStats(tensors[i]->data(), tensors[i]->size(), histogram);
  }
  return all;
}

namespace {

// "cpu" for MakeBackend and HostBackend, registered when the library loads
// (src/backend_registry.h).
const bool kRegistered = internal::RegisterBackend(
    "cpu", {.create = [](const BackendOptions& options) -> std::shared_ptr<Backend> {
              return std::make_shared<CpuBackend>(options);
            },
            .device_count = [] { return 1; }});

}  // namespace

}  // namespace fanin
