// Data-parallel training throughput, for the scaling table in docs/distributed.md:
//
//   mpirun -np N fanin_mpi_scaling [--batch 1024] [--steps 200] [--threads 1]
//                                  [--reduction ordered|allreduce] [--device cpu|cuda]
//
// Trains the init study's BLOCK model (Dense(100, tanh) x 5, then Dense(1): 41,701
// parameters) with SGD on global batches of the 10-dimensional ball and prints, on rank 0,
// the time per step and the samples per second. Every rank uses --threads BLAS threads.
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "fanin/distributed.h"
#include "fanin/fanin.h"

int main(int argc, char** argv) {
  fanin::distributed::World world(&argc, &argv);
  return world.Run([&] {
    int64_t batch = 1024;
    int steps = 200, threads = 1;
    std::string reduction = "ordered", device = "cpu";
    for (int i = 1; i + 1 < argc; i += 2) {
      const std::string flag = argv[i], value = argv[i + 1];
      if (flag == "--batch") {
        batch = std::stoll(value);
      } else if (flag == "--steps") {
        steps = std::stoi(value);
      } else if (flag == "--threads") {
        threads = std::stoi(value);
      } else if (flag == "--reduction") {
        reduction = value;
      } else if (flag == "--device") {
        device = value;
      } else {
        throw std::invalid_argument("unknown flag " + flag);
      }
    }
    if (argc % 2 == 0) throw std::invalid_argument(std::string("no value for ") + argv[argc - 1]);
    fanin::Sequential model(fanin::MakeBackend(device, {.num_threads = threads}));
    for (int i = 0; i < 5; ++i) model.Add(fanin::Dense(100, "tanh", "glorot_normal"));
    model.Add(fanin::Dense(1, "linear", "glorot_normal"));
    model.Compile(fanin::BinaryCrossEntropy{}, fanin::Sgd{.learning_rate = 0.01f});
    model.Build(10, /*seed=*/1);
    fanin::distributed::DataParallel trainer(
        world, model,
        {.reduction = reduction == "allreduce" ? fanin::distributed::Reduction::kAllReduce
                                               : fanin::distributed::Reduction::kOrdered,
         .check_replicas = false});
    const fanin::Dataset data = fanin::Ball(10, batch, 0.5, /*seed=*/1);
    trainer.Step(data.x, data.y);  // warm-up: first-touch allocations, MPI connections
    world.Barrier();
    const auto start = std::chrono::steady_clock::now();
    double loss = 0.0;
    for (int s = 0; s < steps; ++s) loss = trainer.Step(data.x, data.y);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (world.is_root()) {
      std::printf(
          "ranks %d, threads/rank %d, %s, global batch %lld, %d steps: %.3f ms/step, "
          "%.0f samples/s (final loss %.6f)\n",
          world.size(), threads, reduction.c_str(), static_cast<long long>(batch), steps,
          1e3 * seconds / steps, static_cast<double>(batch) * steps / seconds, loss);
    }
    return 0;
  });
}
