// Runs a gradient-statistics experiment declared in a TOML spec (docs/experiments.md).
//
//   fanin_experiment check SPEC [--seeds N]
//   [mpirun -np N] fanin_experiment run SPEC --out DIR [--device cpu|cuda|auto] [--seeds N]
//
// check validates the spec and prints the grid's size and an estimate of the work; run
// runs every (configuration, seed), resuming from the runs an interrupted attempt recorded
// in DIR's staging folder, and swaps the complete results in for DIR.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <string>

#include "fanin/command_line.h"
#include "fanin/distributed.h"
#include "python-free-examples/experiment.h"

namespace {

struct Arguments {
  std::string spec, out, device = "auto";
  int seeds = 0;
};

int Main(const fanin::distributed::World& world, int argc, char** argv) {
  Arguments args;
  CLI::App app("Runs a gradient-statistics experiment declared in a TOML spec", "fanin_experiment");
  app.require_subcommand(1);
  const auto add_common = [&args](CLI::App* command) {
    command->add_option("SPEC", args.spec, "the spec file (docs/experiments.md)")->required();
    command->add_option("--seeds", args.seeds, "seeds per configuration (0: the spec's)")
        ->capture_default_str()
        ->transform(fanin::cli::Integer(0, 1000000));
  };
  CLI::App* check = app.add_subcommand("check", "validate SPEC; print the grid and the work");
  add_common(check);
  CLI::App* run = app.add_subcommand("run", "run every configuration and seed of SPEC");
  add_common(run);
  run->add_option("--out", args.out, "output directory (replaced whole when complete)")->required();
  run->add_option("--device", args.device, "where the runs compute")
      ->capture_default_str()
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    // Every rank parses the same arguments, so every rank returns here.
    if (world.is_root()) app.exit(help);
    return 0;
  } catch (const CLI::ParseError& error) {
    if (world.is_root()) {
      std::fprintf(stderr, "fanin_experiment: ");
      app.exit(error);
    }
    return 2;
  }

  fanin::experiment::Spec spec;
  try {
    spec = fanin::experiment::LoadSpec(args.spec);
  } catch (const fanin::experiment::SpecError& e) {
    if (world.is_root()) std::fprintf(stderr, "fanin_experiment: %s\n", e.what());
    return 2;
  }
  if (args.seeds > 0) spec.seeds = args.seeds;
  if (check->parsed()) {
    if (world.is_root()) std::printf("%s", fanin::experiment::CheckText(spec).c_str());
    return 0;
  }
  const auto start = std::chrono::steady_clock::now();
  const fanin::experiment::RunSummary summary =
      fanin::experiment::RunExperiment(world, spec, {.out = args.out, .device = args.device});
  if (world.is_root()) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf(
        "fanin_experiment: %lld runs in %.1f s (%lld reused, %lld diverged); results in %s\n",
        static_cast<long long>(summary.runs), seconds, static_cast<long long>(summary.reused),
        static_cast<long long>(summary.diverged), args.out.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  fanin::distributed::World world(&argc, &argv);
  return world.Run([&] { return Main(world, argc, argv); });
}
