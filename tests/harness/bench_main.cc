// fanin_op_bench: the harness's perf mode. One Google Benchmark per timed case and available
// target, `<case>/<target>`, timing the case's op call and the wait for the backend to finish
// it (wall time: a GPU's work is not the calling thread's CPU time). It prints Google
// Benchmark's table; nothing here asserts a speed. A target it cannot run is named in the
// context block before the results ("cuda: skipped, ..."), which JSON output keeps valid.
#include <benchmark/benchmark.h>

#include <string>

#include "tests/harness/harness.h"

int main(int argc, char** argv) {
  using namespace fanin::harness;
  benchmark::Initialize(&argc, argv);
  for (const Target& target : Targets()) {
    const std::string why = Unavailable(target);
    if (!why.empty()) {
      benchmark::AddCustomContext(target.name, "skipped, " + why);
      continue;
    }
    for (const OpCase& op_case : Cases()) {
      if (!op_case.value || !op_case.timed || !RunsOn(target, op_case)) continue;
      const std::string name = op_case.name + "/" + target.name;
      benchmark::RegisterBenchmark(name.c_str(), [&target, &op_case](benchmark::State& state) {
        Context context = ContextFor(target, op_case);
        const Instance instance = op_case.value(context);
        for (auto _ : state) {
          instance.op();
          context.backend()->Synchronize();
        }
      })->UseRealTime();
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
