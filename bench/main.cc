// fanin_bench: GEMM, Dense, activations, fused BCE, optimizer updates, the W1/W2 training
// steps and the statistics hook, on the CPU (1 and 2 threads) and, when a GPU is present,
// on CUDA. Every benchmark reports real (wall) time, since the CPU backend's work runs on
// OpenMP and OpenBLAS threads whose CPU time the main thread does not see.
//
//   build/bin/fanin_bench --benchmark_filter='Step/' --benchmark_min_time=0.5
#include <cstdio>
#include <string>

#include "bench/bench_util.h"

namespace fanin::bench {
namespace {

// Into the context block that Google Benchmark prints before any result (and writes into its
// JSON), so that a table without `label`'s rows says why they are missing.
void ReportCudaSkipped(const std::string& label) {
  benchmark::AddCustomContext(label, "skipped, " + CudaUnavailableReason());
}

}  // namespace

std::vector<Device> StandardDevices() {
  std::vector<Device> devices = {{"cpu1", MakeBackend("cpu", BackendOptions{.num_threads = 1})},
                                 {"cpu2", MakeBackend("cpu", BackendOptions{.num_threads = 2})}};
  if (CudaAvailable()) {
    devices.push_back({"cuda", MakeBackend("cuda")});
  } else {
    ReportCudaSkipped("cuda");
  }
  return devices;
}

std::vector<Device> CudnnDevices() {
  if (!CudaAvailable()) {
    ReportCudaSkipped("cuda_cudnn");
    return {};
  }
  return {{"cuda_cudnn", MakeBackend("cuda", BackendOptions{.cudnn_activations = true})}};
}

}  // namespace fanin::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const std::vector<fanin::bench::Device> devices = fanin::bench::StandardDevices();
  for (const fanin::bench::Device& d : devices) {
    std::fprintf(stderr, "device %s: %s\n", d.label.c_str(), d.backend->Describe().c_str());
  }
  fanin::bench::RegisterGemmBenchmarks(devices);
  fanin::bench::RegisterLayerBenchmarks(devices, fanin::bench::CudnnDevices());
  fanin::bench::RegisterStepBenchmarks(devices);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
