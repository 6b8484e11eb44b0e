// GEMM through ops::Gemm: W3's square SGEMMs, and the bare GEMM calls of one W1/W2
// training step (the floor a BLAS-based step cannot beat without fusing or a faster GEMM).
#include <string>

#include "bench/bench_util.h"
#include "bench/workloads.h"
#include "fanin/ops.h"

namespace fanin::bench {
namespace {

// Operands and output of one GEMM call, filled once with U(-1, 1).
struct GemmOperands {
  GemmShape shape;
  Tensor a, b, c;
};

GemmOperands MakeOperands(const std::shared_ptr<Backend>& backend, const GemmShape& g,
                          uint32_t stream) {
  GemmOperands o{g, Tensor(backend, g.transpose_a ? Shape{g.k, g.m} : Shape{g.m, g.k}),
                 Tensor(backend, g.transpose_b ? Shape{g.n, g.k} : Shape{g.k, g.n}),
                 Tensor(backend, {g.m, g.n})};
  ops::FillRandom(o.a, {.a = -1.0, .b = 1.0, .seed = 7, .stream = 2 * stream});
  ops::FillRandom(o.b, {.a = -1.0, .b = 1.0, .seed = 7, .stream = 2 * stream + 1});
  return o;
}

// W3: C = A B, square, A and B the spec's sym(11, i) and sym(12, i).
void RegisterSquare(const Device& device, int64_t n) {
  const std::string name = "Gemm/square/n:" + std::to_string(n) + "/" + device.label;
  benchmark::RegisterBenchmark(
      name.c_str(),
      [device, n](benchmark::State& state) {
        Backend& be = *device.backend;
        const Tensor a = Tensor::FromHost(device.backend, {n, n}, SquareGemmOperand(n, 11));
        const Tensor b = Tensor::FromHost(device.backend, {n, n}, SquareGemmOperand(n, 12));
        Tensor c(device.backend, {n, n});
        ops::Gemm(a, false, b, false, 1.0f, 0.0f, c);  // warm-up: BLAS threads, cuBLAS heuristics
        be.Synchronize();
        for (auto _ : state) {
          ops::Gemm(a, false, b, false, 1.0f, 0.0f, c);
          be.Synchronize();
        }
        SetRates(state, 2.0 * static_cast<double>(n * n * n), 0, 0);
      })
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

// All GEMM calls of one training step, back to back, nothing else.
void RegisterStepGemms(const Device& device, const MlpWorkload& workload) {
  const std::string name = "Gemm/step_gemms/" + workload.name + "/" + device.label;
  benchmark::RegisterBenchmark(
      name.c_str(),
      [device, &workload](benchmark::State& state) {
        Backend& be = *device.backend;
        std::vector<GemmOperands> calls;
        double flops = 0.0;
        for (const GemmShape& g : StepGemms(workload)) {
          calls.push_back(MakeOperands(device.backend, g, static_cast<uint32_t>(calls.size())));
          flops += g.flops();
        }
        for (auto _ : state) {
          for (GemmOperands& o : calls) {
            ops::Gemm(o.a, o.shape.transpose_a, o.b, o.shape.transpose_b, 1.0f, 0.0f, o.c);
          }
          be.Synchronize();
        }
        // The exact GEMM FLOPs here (no dX for layer 0), not the step's nominal 3 x forward.
        SetRates(state, flops, 0, static_cast<double>(workload.batch));
      })
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace

void RegisterGemmBenchmarks(const std::vector<Device>& devices) {
  for (const Device& d : devices) {
    for (int64_t n : {256, 1024, 2048}) RegisterSquare(d, n);
    RegisterStepGemms(d, W1());
    RegisterStepGemms(d, W2());
  }
}

}  // namespace fanin::bench
