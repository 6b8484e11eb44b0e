// What the fanin_bench benchmarks share: the devices they run on and the counters they
// report. Benchmarks are registered at run time (bench/main.cc), one per device present,
// so a machine without a GPU lists no CUDA benchmark instead of failing them (and says so).
#pragma once

#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "fanin/fanin.h"

namespace fanin::bench {

// A backend under test and the label its benchmarks carry ("cpu1", "cpu2", "cuda", and
// "cuda_cudnn" for the activation benchmarks that compare fanin's kernels with cuDNN's).
struct Device {
  std::string label;
  std::shared_ptr<Backend> backend;
};

// cpu1 and cpu2 (1 and 2 threads) always; cuda when fanin::CudaAvailable(). The devices
// left out are reported as skipped, with the reason, in Google Benchmark's context.
std::vector<Device> StandardDevices();
// The CUDA backend with cuDNN activations, when a GPU is present (else empty, and reported
// as skipped).
std::vector<Device> CudnnDevices();

// Per-iteration amounts reported as rates over the measured (real) time.
inline void SetRates(benchmark::State& state, double flops, double bytes, double samples) {
  const double n = static_cast<double>(state.iterations());
  if (flops > 0)
    state.counters["FLOP/s"] = benchmark::Counter(flops * n, benchmark::Counter::kIsRate);
  if (bytes > 0)
    state.counters["bytes/s"] = benchmark::Counter(bytes * n, benchmark::Counter::kIsRate);
  if (samples > 0) {
    state.counters["samples/s"] = benchmark::Counter(samples * n, benchmark::Counter::kIsRate);
  }
}

// Registration entry points of the benchmark files.
void RegisterGemmBenchmarks(const std::vector<Device>& devices);
void RegisterLayerBenchmarks(const std::vector<Device>& devices,
                             const std::vector<Device>& cudnn_devices);
void RegisterStepBenchmarks(const std::vector<Device>& devices);

}  // namespace fanin::bench
