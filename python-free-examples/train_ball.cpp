// Trains the BLOCK model of the initializer study (five Dense(100) layers with one
// activation, a Dense(1) on logits, fused sigmoid + BCE) on the ball data set, printing
// loss and accuracy per epoch, then the time per training step.
//
//   train_ball [--activation tanh] [--initializer glorot_normal] [--epochs 20]
//              [--batch 16] [--lr 0.01] [--optimizer sgd|adam] [--seed 42]
//              [--device cpu|cuda|auto|all] [--warmup-epochs 1]
//
// The step time leaves out the first --warmup-epochs epochs, which pay the one-time
// start-up (the GPU's module loading and first cuBLAS call, oneDNN's kernel generation,
// the first allocations); they train like the others. `--device all` trains the same model
// (same seed, so the same data, initial weights and shuffles) on every device usable here
// in turn, one timing line each, after a line for each device it skips and why
// ("cuda: skipped, no CUDA GPU is visible").
#include <chrono>
#include <cstdio>
#include <exception>
#include <limits>
#include <string>
#include <vector>

#include "fanin/command_line.h"
#include "fanin/fanin.h"

namespace {

struct Options {
  std::string activation = "tanh";
  std::string initializer = "glorot_normal";
  std::string optimizer = "sgd";
  std::string device = "auto";
  int epochs = 20;
  int warmup_epochs = 1;
  int64_t batch = 16;
  float learning_rate = 0.01f;
  uint64_t seed = 42;
  int verbose = 0;
};

Options Parse(int argc, char** argv) {
  Options o;
  CLI::App app("Trains the BLOCK model on the ball data set and reports the time per step.",
               "train_ball");
  fanin::cli::ShowDefaults(app);
  constexpr int kMaxInt = std::numeric_limits<int>::max();
  app.add_option("--activation", o.activation, "hidden layers' activation")
      ->check(fanin::cli::NameFor(fanin::ParseActivation, "linear|sigmoid|tanh|relu"));
  app.add_option("--initializer", o.initializer, "kernel initializer")
      ->check(fanin::cli::NameFor(fanin::Initializer::FromName, "NAME"));
  app.add_option("--epochs", o.epochs, "epochs to train, warm-up included")
      ->transform(fanin::cli::Integer(1, kMaxInt));
  app.add_option("--warmup-epochs", o.warmup_epochs,
                 "first epochs left out of the step time (one-time start-up)")
      ->transform(fanin::cli::Integer(0, kMaxInt));
  app.add_option("--batch", o.batch, "rows per step (above 1000: the whole data set)")
      ->transform(fanin::cli::Integer<int64_t>(1, std::numeric_limits<int64_t>::max()));
  app.add_option("--lr", o.learning_rate, "learning rate")
      ->check(fanin::cli::PositiveReal<float>(std::numeric_limits<float>::max()));
  app.add_option("--optimizer", o.optimizer, "optimizer")->check(CLI::IsMember({"sgd", "adam"}));
  app.add_option("--verbose", o.verbose,
                 "0: a line per epoch of its own; 1: Fit's progress bar (on a terminal; "
                 "else as 2); 2: Fit's line per epoch")
      ->check(CLI::Range(0, 2));
  app.add_option("--seed", o.seed, "seed of the data, the weights and the shuffles")
      ->transform(fanin::cli::Integer<uint64_t>(0, std::numeric_limits<uint64_t>::max()));
  app.add_option("--device", o.device,
                 "backend: cpu, cuda, auto (cuda when usable, else cpu), or all (every usable "
                 "device in turn, same model and initial weights; says which it skipped)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto", "all"}));
  fanin::cli::ParseOrExit(app, argc, argv);
  return o;
}

using Clock = std::chrono::steady_clock;

// Builds the model from o.seed on `device`, trains it on `data` and prints its time per step.
void TrainOn(const std::string& device, const Options& o, const fanin::Dataset& data) {
  fanin::Sequential model(fanin::MakeBackend(device));
  for (int i = 0; i < 5; ++i) model.Add(fanin::Dense(100, o.activation, o.initializer));
  model.Add(fanin::Dense(1, "linear", o.initializer));
  fanin::Optimizer optimizer = fanin::Sgd{.learning_rate = o.learning_rate};
  if (o.optimizer == "adam") optimizer = fanin::Adam{.learning_rate = o.learning_rate};
  model.Compile(fanin::BinaryCrossEntropy{}, optimizer);
  model.Build(10, o.seed);
  std::printf("%s\n", model.Summary().c_str());

  // Each epoch ends with a wait for the device (Fit reads its loss totals), so the time
  // from one epoch's end to the next is that epoch's work; printing is left out.
  Clock::time_point epoch_start = Clock::now();
  Clock::duration timed{};
  int64_t warmup_steps = 0;
  fanin::FitOptions fit{
      .epochs = o.epochs, .batch_size = o.batch, .shuffle_seed = o.seed, .verbose = o.verbose};
  fit.on_epoch_end = [&](const fanin::EpochLogs& logs) {
    const Clock::time_point end = Clock::now();
    if (logs.epoch < o.warmup_epochs) {
      warmup_steps = model.steps_taken();
    } else {
      timed += end - epoch_start;
    }
    if (o.verbose == 0) {
      std::printf("epoch %3d  loss %.4f  accuracy %.3f%s\n", logs.epoch + 1, logs.loss, logs.metric,
                  logs.epoch < o.warmup_epochs ? "  (warm-up, not timed)" : "");
    }
    epoch_start = Clock::now();
    return true;
  };
  model.Fit(data.x, data.y, fit);
  const int64_t steps = model.steps_taken() - warmup_steps;
  if (steps == 0) {
    std::printf("not timed: all %d epochs were warm-up (--warmup-epochs %d) on %s\n", o.epochs,
                o.warmup_epochs, model.backend().Describe().c_str());
    return;
  }
  const double seconds = std::chrono::duration<double>(timed).count();
  std::printf(
      "timed epochs %d-%d (the first %d left out as warm-up): %lld steps in %.3f s "
      "(%.3f ms/step) on %s\n",
      o.warmup_epochs + 1, o.epochs, o.warmup_epochs, static_cast<long long>(steps), seconds,
      1e3 * seconds / static_cast<double>(steps), model.backend().Describe().c_str());
}

}  // namespace

int main(int argc, char** argv) try {
  const Options o = Parse(argc, argv);
  const fanin::Dataset data = fanin::Ball(10, 1000, 0.5, o.seed);
  if (o.device != "all") {
    TrainOn(o.device, o, data);
    return 0;
  }
  std::vector<std::string> devices = {"cpu"};
  if (fanin::CudaAvailable()) {
    devices.emplace_back("cuda");
  } else {
    std::printf("cuda: skipped, %s\n", fanin::CudaUnavailableReason().c_str());
  }
  for (size_t i = 0; i < devices.size(); ++i) {
    if (i > 0) std::printf("\n");
    TrainOn(devices[i], o, data);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "train_ball: %s\n", e.what());
  return 1;
}
