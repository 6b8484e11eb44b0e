// Whole training steps of W1 and W2 (forward, fused BCE, backward, SGD) built from
// WORKLOADS.md's data and weights, and what a StatsHook recording every step adds to W1.
#include <string>

#include "bench/bench_util.h"
#include "bench/workloads.h"
#include "fanin/stats_hook.h"

namespace fanin::bench {
namespace {

// One step per iteration, synchronized, after a few warm-up steps that size every buffer.
void RunSteps(benchmark::State& state, MlpInstance& w, const MlpWorkload& workload) {
  for (int i = 0; i < 3; ++i) w.model.TrainStep(w.x, w.y);
  w.model.backend().Synchronize();
  for (auto _ : state) {
    w.model.TrainStep(w.x, w.y);
    w.model.backend().Synchronize();
  }
  SetRates(state, StepFlops(workload), 0, static_cast<double>(workload.batch));
}

void RegisterStep(const Device& device, const MlpWorkload& workload) {
  const std::string name = "Step/" + workload.name + "/" + device.label;
  benchmark::RegisterBenchmark(name.c_str(),
                               [device, &workload](benchmark::State& state) {
                                 MlpInstance w = Instantiate(workload, device.backend);
                                 RunSteps(state, w, workload);
                               })
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

// The hook records every step (z, activation, kernel and both gradients of each layer,
// 64-bin histograms) and streams nowhere, so what is timed is the statistics themselves.
void RegisterStatsHookStep(const Device& device, const MlpWorkload& workload) {
  const std::string name = "Step/" + workload.name + "_stats_hook_every_step/" + device.label;
  benchmark::RegisterBenchmark(
      name.c_str(),
      [device, &workload](benchmark::State& state) {
        MlpInstance w = Instantiate(workload, device.backend);
        w.model.AddHook(std::make_shared<StatsHook>(
            StatsHookOptions{.schedule = StepSchedule::EveryStep(), .keep_in_memory = false}));
        RunSteps(state, w, workload);
      })
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace

void RegisterStepBenchmarks(const std::vector<Device>& devices) {
  for (const Device& d : devices) {
    RegisterStep(d, W1());
    RegisterStatsHookStep(d, W1());
    RegisterStep(d, W2());
  }
}

}  // namespace fanin::bench
