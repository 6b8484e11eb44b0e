// Trains the BLOCK model of the initializer study (five Dense(100) layers with one
// activation, a Dense(1) on logits, fused sigmoid + BCE) on the ball data set, printing
// loss and accuracy per epoch.
//
//   train_ball [--activation tanh] [--initializer glorot_normal] [--epochs 20]
//              [--batch 16] [--lr 0.01] [--optimizer sgd|adam] [--seed 42]
//              [--device cpu|cuda|auto]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include "fanin/fanin.h"

namespace {

struct Options {
  std::string activation = "tanh";
  std::string initializer = "glorot_normal";
  std::string optimizer = "sgd";
  std::string device = "auto";
  int epochs = 20;
  int64_t batch = 16;
  float learning_rate = 0.01f;
  uint64_t seed = 42;
};

[[noreturn]] void Usage(const char* problem) {
  std::fprintf(stderr,
               "train_ball: %s\nusage: train_ball [--activation sigmoid|tanh|relu|linear] "
               "[--initializer NAME] [--epochs N] [--batch N] [--lr X] [--optimizer sgd|adam] "
               "[--seed N] [--device cpu|cuda|auto]\n",
               problem);
  std::exit(2);
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") Usage("help");
    if (i + 1 >= argc) Usage(("missing value after " + std::string(flag)).c_str());
    const char* value = argv[++i];
    if (flag == "--activation")
      o.activation = value;
    else if (flag == "--initializer")
      o.initializer = value;
    else if (flag == "--optimizer")
      o.optimizer = value;
    else if (flag == "--device")
      o.device = value;
    else if (flag == "--epochs")
      o.epochs = std::atoi(value);
    else if (flag == "--batch")
      o.batch = std::atoll(value);
    else if (flag == "--lr")
      o.learning_rate = std::strtof(value, nullptr);
    else if (flag == "--seed")
      o.seed = std::strtoull(value, nullptr, 10);
    else
      Usage(("unknown flag " + std::string(flag)).c_str());
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) try {
  const Options o = Parse(argc, argv);
  if (o.optimizer != "sgd" && o.optimizer != "adam") Usage("--optimizer must be sgd or adam");
  const fanin::Dataset data = fanin::Ball(10, 1000, 0.5, o.seed);

  fanin::Sequential model(fanin::MakeBackend(o.device));
  for (int i = 0; i < 5; ++i) model.Add(fanin::Dense(100, o.activation, o.initializer));
  model.Add(fanin::Dense(1, "linear", o.initializer));
  fanin::Optimizer optimizer = fanin::Sgd{.learning_rate = o.learning_rate};
  if (o.optimizer == "adam") optimizer = fanin::Adam{.learning_rate = o.learning_rate};
  model.Compile(fanin::BinaryCrossEntropy{}, optimizer);
  model.Build(10, o.seed);
  std::printf("%s\n", model.Summary().c_str());

  const auto start = std::chrono::steady_clock::now();
  fanin::FitOptions fit{.epochs = o.epochs, .batch_size = o.batch, .shuffle_seed = o.seed};
  fit.on_epoch_end = [](const fanin::EpochLogs& logs) {
    std::printf("epoch %3d  loss %.4f  accuracy %.3f\n", logs.epoch + 1, logs.loss, logs.accuracy);
    return true;
  };
  model.Fit(data.x, data.y, fit);
  model.backend().Synchronize();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const int64_t steps = model.steps_taken();
  std::printf("%lld steps in %.3f s (%.3f ms/step) on %s\n", static_cast<long long>(steps), seconds,
              1e3 * seconds / static_cast<double>(steps), model.backend().Describe().c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "train_ball: %s\n", e.what());
  return 1;
}
