// Whole training steps of W1 and W2 (forward, fused BCE, backward, SGD) built from
// WORKLOADS.md's data and weights, and what a StatsHook adds to them: each mode recording
// every step and every 10th step (the step itself: Step/W1/cpu2).
#include <optional>
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

// A StatsHook that streams nowhere, so that what is timed is the statistics themselves:
// "exact" is StatsMode::kExact with its 64-bin linear histograms (the studies' mode), "fused"
// StatsMode::kFused as it comes (log2 histograms on every 10th step), "fused_hist" with log2
// histograms on every recorded step, "fused_moments" with none.
struct StatsVariant {
  const char* name;
  StatsMode mode;
  std::optional<StepSchedule> log2_histograms;
};
const StatsVariant kStatsVariants[] = {
    {"exact", StatsMode::kExact, std::nullopt},
    {"fused", StatsMode::kFused, StepSchedule::Every(10)},
    {"fused_hist", StatsMode::kFused, StepSchedule::EveryStep()},
    {"fused_moments", StatsMode::kFused, std::nullopt},
};

// Step/W1_stats_fused_every_10/cpu2: the step with `variant` recording every `every`-th step.
void RegisterStatsStep(const Device& device, const MlpWorkload& workload,
                       const StatsVariant& variant, int64_t every) {
  const std::string name = "Step/" + workload.name + "_stats_" + variant.name + "_every_" +
                           std::to_string(every) + "/" + device.label;
  benchmark::RegisterBenchmark(
      name.c_str(),
      [device, &workload, variant, every](benchmark::State& state) {
        MlpInstance w = Instantiate(workload, device.backend);
        w.model.AddHook(std::make_shared<StatsHook>(
            StatsHookOptions{.schedule = StepSchedule::Every(every),
                             .mode = variant.mode,
                             .log2_histograms = variant.log2_histograms,
                             .keep_in_memory = false}));
        RunSteps(state, w, workload);
      })
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace

void RegisterStepBenchmarks(const std::vector<Device>& devices) {
  for (const Device& d : devices) {
    for (const MlpWorkload* w : {&W1(), &W2()}) {
      RegisterStep(d, *w);
      for (const StatsVariant& v : kStatsVariants) {
        for (const int64_t every : {1, 10}) RegisterStatsStep(d, *w, v, every);
      }
    }
  }
}

}  // namespace fanin::bench
