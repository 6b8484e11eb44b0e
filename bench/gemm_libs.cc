// fanin_gemm_libs: which CPU GEMM library is fastest on W1's and W2's shapes (issue 5,
// item 3)? OpenBLAS, oneDNN's matmul primitive (what fanin's CPU backend now calls, chosen
// by this program's tables) and libxsmm's OpenMP front-end, each on every GEMM call of one
// training step, on 1 and 2 threads; and, for the forward layers, OpenBLAS + fanin's
// bias/activation pass against oneDNN's matmul with the bias and the activation fused as
// post-ops.
//
// A measurement program: OpenBLAS and libxsmm are not dependencies of fanin. Built when
// Debian's libxsmm-dev is installed.
//
//   build/bin/fanin_gemm_libs [--threads=1,2] [--min-time=0.3]
#include <cblas.h>
#include <libxsmm.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bench/openblas_gemm.h"
#include "bench/workloads.h"
#include "fanin/command_line.h"
#include "fanin/ops.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace fanin::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Median and minimum wall time of `run`, repeated for at least `min_seconds` and 7 times.
struct Timing {
  double median_ms = 0.0, min_ms = 0.0;
};
Timing Time(const std::function<void()>& run, double min_seconds) {
  run();  // warm-up: thread pools, JIT, caches
  std::vector<double> ms;
  const Clock::time_point begin = Clock::now();
  while (ms.size() < 7 ||
         std::chrono::duration<double>(Clock::now() - begin).count() < min_seconds) {
    const Clock::time_point start = Clock::now();
    run();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.front()};
}

std::vector<float> Filled(int64_t n, uint64_t seed) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<float>(Sym(seed, i));
  return v;
}

// Row-major operands of one GEMM call.
struct Operands {
  GemmShape g;
  std::vector<float> a, b, c;
  int64_t lda() const { return g.transpose_a ? g.m : g.k; }
  int64_t ldb() const { return g.transpose_b ? g.k : g.n; }
};

std::vector<Operands> MakeOperands(const MlpWorkload& w) {
  std::vector<Operands> calls;
  uint64_t seed = 20;
  for (const GemmShape& g : StepGemms(w)) {
    calls.push_back({g, Filled(g.m * g.k, seed), Filled(g.k * g.n, seed + 1),
                     std::vector<float>(static_cast<size_t>(g.m * g.n))});
    seed += 2;
  }
  return calls;
}

std::string ShapeName(const GemmShape& g) {
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "%s m=%lld n=%lld k=%lld",
                g.transpose_a ? "TN" : (g.transpose_b ? "NT" : "NN"), static_cast<long long>(g.m),
                static_cast<long long>(g.n), static_cast<long long>(g.k));
  return buffer;
}

// ---- The libraries, each as "run this call" ----------------------------------------------

// Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: the operands swap.
void Libxsmm(Operands& o) {
  const char ta = o.g.transpose_a ? 'T' : 'N', tb = o.g.transpose_b ? 'T' : 'N';
  const libxsmm_blasint m = o.g.n, n = o.g.m, k = o.g.k;
  const libxsmm_blasint lda = o.ldb(), ldb = o.lda(), ldc = o.g.n;
  const float alpha = 1.0f, beta = 0.0f;
  libxsmm_sgemm_omp(&tb, &ta, &m, &n, &k, &alpha, o.b.data(), &lda, o.a.data(), &ldb, &beta,
                    o.c.data(), &ldc);
}

// A oneDNN matmul primitive for one call, created once (creation is not timed), optionally
// with a bias and an element-wise post-op fused into the output pass.
class DnnlMatmul {
 public:
  DnnlMatmul(const dnnl::engine& engine, Operands& o, const float* bias, dnnl::algorithm eltwise) {
    using dnnl::memory;
    using tag = memory::format_tag;
    const memory::dims a_dims = {o.g.m, o.g.k}, b_dims = {o.g.k, o.g.n}, c_dims = {o.g.m, o.g.n};
    const memory::desc a_md(a_dims, memory::data_type::f32, o.g.transpose_a ? tag::ba : tag::ab);
    const memory::desc b_md(b_dims, memory::data_type::f32, o.g.transpose_b ? tag::ba : tag::ab);
    const memory::desc c_md(c_dims, memory::data_type::f32, tag::ab);
    dnnl::primitive_attr attr;
    if (eltwise != dnnl::algorithm::undef) {
      dnnl::post_ops ops;
      ops.append_eltwise(1.0f, eltwise, 0.0f, 0.0f);
      attr.set_post_ops(ops);
    }
    dnnl::matmul::primitive_desc pd;
    if (bias != nullptr) {
      const memory::desc bias_md({1, o.g.n}, memory::data_type::f32, tag::ab);
      pd =
          dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, b_md, bias_md, c_md), attr, engine);
      args_[DNNL_ARG_BIAS] = memory(bias_md, engine, const_cast<float*>(bias));
    } else {
      pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, b_md, c_md), attr, engine);
    }
    args_[DNNL_ARG_SRC] = memory(a_md, engine, o.a.data());
    args_[DNNL_ARG_WEIGHTS] = memory(b_md, engine, o.b.data());
    args_[DNNL_ARG_DST] = memory(c_md, engine, o.c.data());
    primitive_ = dnnl::matmul(pd);
  }
  void Run(dnnl::stream& stream) {
    primitive_.execute(stream, args_);
    stream.wait();
  }

 private:
  dnnl::matmul primitive_;
  std::unordered_map<int, dnnl::memory> args_;
};

void SetThreads(int threads) {
  openblas_set_num_threads(threads);
  omp_set_num_threads(threads);
  // Let the previous library's spinning workers go to sleep before the next is timed.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
}

void CompareStepGemms(const MlpWorkload& w, const std::vector<int>& thread_counts, double min_time,
                      const dnnl::engine& engine, dnnl::stream& stream) {
  std::vector<Operands> calls = MakeOperands(w);
  std::vector<DnnlMatmul> dnnl_calls;
  for (Operands& o : calls) dnnl_calls.emplace_back(engine, o, nullptr, dnnl::algorithm::undef);
  std::printf("\n### %s: every GEMM of one step, ms (median of >= 7 runs and >= %.1f s)\n\n",
              w.name.c_str(), min_time);
  std::printf("| threads | call | GFLOP | OpenBLAS | oneDNN | libxsmm |\n");
  std::printf("|---:|---|---:|---:|---:|---:|\n");
  for (int threads : thread_counts) {
    // One library at a time over all shapes, so that one's idle workers do not steal the
    // other's cores; then the whole step's sequence, as a training step would run it.
    std::vector<Timing> blas, onednn, xsmm;
    SetThreads(threads);
    for (Operands& o : calls)
      blas.push_back(
          Time([&] { OpenBlasGemm(o.g, o.a.data(), o.b.data(), o.c.data()); }, min_time));
    const Timing blas_step = Time(
        [&] {
          for (Operands& o : calls) OpenBlasGemm(o.g, o.a.data(), o.b.data(), o.c.data());
        },
        min_time);
    SetThreads(threads);
    for (DnnlMatmul& d : dnnl_calls) onednn.push_back(Time([&] { d.Run(stream); }, min_time));
    const Timing dnnl_step = Time(
        [&] {
          for (DnnlMatmul& d : dnnl_calls) d.Run(stream);
        },
        min_time);
    SetThreads(threads);
    for (Operands& o : calls) xsmm.push_back(Time([&] { Libxsmm(o); }, min_time));
    const Timing xsmm_step = Time(
        [&] {
          for (Operands& o : calls) Libxsmm(o);
        },
        min_time);
    double sums[3] = {0, 0, 0};
    for (size_t i = 0; i < calls.size(); ++i) {
      std::printf("| %d | %s | %.4f | %.3f | %.3f | %.3f |\n", threads,
                  ShapeName(calls[i].g).c_str(), calls[i].g.flops() * 1e-9, blas[i].median_ms,
                  onednn[i].median_ms, xsmm[i].median_ms);
      sums[0] += blas[i].median_ms;
      sums[1] += onednn[i].median_ms;
      sums[2] += xsmm[i].median_ms;
    }
    std::printf("| %d | **sum of the calls** | | %.3f | %.3f | %.3f |\n", threads, sums[0], sums[1],
                sums[2]);
    std::printf(
        "| %d | **step sequence, median (min)** | | %.3f (%.3f) | %.3f (%.3f) | %.3f "
        "(%.3f) |\n",
        threads, blas_step.median_ms, blas_step.min_ms, dnnl_step.median_ms, dnnl_step.min_ms,
        xsmm_step.median_ms, xsmm_step.min_ms);
  }
}

// Forward layers: GEMM then fanin's bias+activation pass, against oneDNN with both fused.
void CompareFusedForward(const MlpWorkload& w, const std::vector<int>& thread_counts,
                         double min_time, const dnnl::engine& engine, dnnl::stream& stream) {
  std::vector<Operands> calls = MakeOperands(w);
  std::printf("\n### %s: forward layers, GEMM + bias + activation, ms\n\n", w.name.c_str());
  std::printf(
      "| threads | layer | OpenBLAS + fanin BiasActivationForward | oneDNN fused post-ops "
      "|\n|---:|---|---:|---:|\n");
  for (int threads : thread_counts) {
    std::shared_ptr<Backend> cpu = MakeBackend("cpu", BackendOptions{.num_threads = threads});
    for (size_t l = 0; l < w.units.size(); ++l) {
      Operands& o = calls[l];  // the first units.size() calls are the forward GEMMs
      const bool hidden = l + 1 < w.units.size();
      const Activation act = hidden ? w.hidden_activation : Activation::kLinear;
      const std::vector<float> bias_values = Filled(o.g.n, 99);
      Tensor bias = Tensor::FromHost(cpu, {o.g.n}, bias_values);
      Tensor z(cpu, {o.g.m, o.g.n}), a(cpu, {o.g.m, o.g.n});
      SetThreads(threads);
      const Tensor x = Tensor::FromHost(cpu, {o.g.m, o.g.k}, o.a);
      const Tensor kernel = Tensor::FromHost(cpu, {o.g.k, o.g.n}, o.b);
      const Timing fanin_path = Time(
          [&] {
            ops::Gemm(x, false, kernel, false, 1.0f, 0.0f, z);
            ops::BiasActivationForward(act, bias, z, act == Activation::kLinear ? z : a);
          },
          min_time);
      const dnnl::algorithm alg = act == Activation::kTanh   ? dnnl::algorithm::eltwise_tanh
                                  : act == Activation::kRelu ? dnnl::algorithm::eltwise_relu
                                                             : dnnl::algorithm::undef;
      DnnlMatmul fused(engine, o, bias_values.data(), alg);
      SetThreads(threads);
      const Timing dnnl_path = Time([&] { fused.Run(stream); }, min_time);
      std::printf("| %d | %s %s | %.3f | %.3f |\n", threads, ShapeName(o.g).c_str(),
                  std::string(ActivationName(act)).c_str(), fanin_path.median_ms,
                  dnnl_path.median_ms);
    }
  }
}

}  // namespace
}  // namespace fanin::bench

int main(int argc, char** argv) {
  std::vector<int> thread_counts = {1, 2};
  double min_time = 0.3;
  CLI::App app("Which CPU GEMM library is fastest on W1's and W2's shapes.", "fanin_gemm_libs");
  fanin::cli::ShowDefaults(app);
  app.add_option("--threads", thread_counts, "thread counts to measure, comma-separated")
      ->delimiter(',')
      ->transform(fanin::cli::Integer(1, 1024));
  app.add_option("--min-time", min_time, "seconds to repeat each measurement for, at least")
      ->check(fanin::cli::PositiveReal<double>(std::numeric_limits<double>::max()));
  fanin::cli::ParseOrExit(app, argc, argv);
  libxsmm_init();
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const dnnl_version_t* v = dnnl_version();
  std::printf("OpenBLAS: %s\noneDNN %d.%d.%d (%s runtime)\nlibxsmm %s, target %s\n",
              openblas_get_config(), v->major, v->minor, v->patch,
              v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other", LIBXSMM_VERSION,
              libxsmm_get_target_arch());
  for (const fanin::bench::MlpWorkload* w : {&fanin::bench::W1(), &fanin::bench::W2()}) {
    fanin::bench::CompareStepGemms(*w, thread_counts, min_time, engine, stream);
    fanin::bench::CompareFusedForward(*w, thread_counts, min_time, engine, stream);
  }
  libxsmm_finalize();
  return 0;
}
