// The CPU backend's compute library: oneDNN's matmul for every GEMM and its element-wise
// primitive for the transcendental activations.
//
// Chosen by measurement (docs/benchmarks.md, `fanin_gemm_libs`): on W1's and W2's shapes
// oneDNN's matmul is as fast as the best OpenBLAS kernel on one thread and up to 2x faster
// on two, and it picks the machine's ISA itself (its JIT ran AVX-512 here), where Debian's
// OpenBLAS 0.3.21 silently falls back to a 6x slower SSE3 kernel on CPUs it does not know.
// Its tanh is within 1 ulp of the exact value for every float in [-20, 20] (glibc's tanhf:
// 2 ulp) and its logistic within 4 ulp, so the speed costs no accuracy.
//
// Primitives are created once per shape (creation JITs code, ~0.1 ms) and reused; a
// training step with fixed shapes therefore creates nothing after its first call. Small
// calls run on one thread: below ~1 MFLOP (or 2^14 elements) OpenMP's fork and join cost
// more than the second core saves.
// Not thread-safe: one OneDnn belongs to one backend, used from one thread at a time.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "oneapi/dnnl/dnnl.hpp"

namespace fanin {

class OneDnn {
 public:
  // `num_threads`: the OpenMP threads every primitive runs on.
  explicit OneDnn(int num_threads);

  // Row-major c [m x n] = alpha * op(a) op(b) + bias + beta * c, where a is [m x k]
  // ([k x m] when transpose_a), b is [k x n] ([n x k] when transpose_b), all contiguous,
  // and bias [n] (may be null) is added to every row in the GEMM's output pass.
  void Gemm(const float* a, bool transpose_a, const float* b, bool transpose_b, const float* bias,
            float* c, int64_t m, int64_t n, int64_t k, float alpha, float beta);

  // dst[i] = f(src[i]) for i < n, f an eltwise algorithm (eltwise_tanh, eltwise_logistic) with
  // oneDNN's alpha parameter (eltwise_elu's alpha; ignored by those without one) and beta 0.
  // dst may alias src.
  void Eltwise(dnnl::algorithm f, float alpha, const float* src, float* dst, int64_t n);

 private:
  struct GemmKey {
    int64_t m, n, k;
    bool transpose_a, transpose_b, has_bias;
    float alpha, beta;
    int threads;
    auto operator<=>(const GemmKey&) const = default;
  };
  // A primitive and the memory objects it runs on (`args` holds handles to the same
  // objects); each call only swaps the data pointers.
  struct Primitive {
    dnnl::primitive primitive;
    std::unordered_map<int, dnnl::memory> args;
    void Run(dnnl::stream& stream, std::initializer_list<std::pair<int, const void*>> data);
  };

  int num_threads_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  std::map<GemmKey, Primitive> gemms_;
  std::map<std::tuple<dnnl::algorithm, float, int64_t, int>, Primitive> eltwises_;
};

}  // namespace fanin
