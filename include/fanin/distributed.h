// Data-parallel training over MPI (and NCCL on CUDA builds): every rank holds a replica of
// the model and computes the gradients of its shard of each global batch; the gradients are
// combined in one collective per step and every rank applies the same update.
//
//   int main(int argc, char** argv) {
//     fanin::distributed::World world(&argc, &argv);
//     return world.Run([&] {
//       fanin::Sequential model(fanin::MakeBackend("cpu", {.num_threads = 1}));
//       ...                                  // the same layers on every rank
//       model.Build(10, /*seed=*/42);        // the same seed: identical replicas
//       fanin::distributed::DataParallel trainer(world, model);
//       for (...) double loss = trainer.Step(x, y);  // the same global batch on every rank
//       return 0;
//     });
//   }
//
// Launch with `mpirun -np N program` or `srun`; see docs/distributed.md. Run without a
// launcher (or from a fanin built without MPI), a World is one process of rank 0 and every
// collective is a local copy, so the same program runs alone unchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "fanin/model.h"
#include "fanin/tensor.h"

namespace fanin::distributed {

// The processes of one job (MPI_COMM_WORLD). Create one per process, in main.
class World {
 public:
  // Initializes MPI when the process was started by a launcher (mpirun, srun, Hydra) and
  // MPI is not initialized yet; otherwise the World is this process alone.
  World(int* argc = nullptr, char*** argv = nullptr);
  ~World();  // finalizes MPI when this World initialized it
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }
  // Whether this fanin was built with MPI (FindMPI found it).
  static bool BuiltWithMpi();

  // Runs `body` and returns its result. If it throws, prints "fanin: rank R of N failed:
  // <what>" to stderr and aborts every rank: the others may be waiting for this one in a
  // collective, and would wait forever.
  int Run(const std::function<int()>& body) const;
  // Prints the message (prefixed as above) and ends the whole job with exit code `code`.
  [[noreturn]] void Abort(const std::string& message, int code = 1) const;

  // Collectives: every rank calls the same ones in the same order. MPI errors throw
  // std::runtime_error.
  void Barrier() const;
  // Every rank's `values` (the same count on every rank), concatenated in rank order, on
  // every rank.
  std::vector<float> AllGather(std::span<const float> values) const;
  std::vector<double> AllGather(std::span<const double> values) const;
  std::vector<uint64_t> AllGather(std::span<const uint64_t> values) const;
  // Elementwise sum over the ranks, in place, in MPI's (implementation-defined) order.
  void AllReduceSum(std::span<float> values) const;
  // Every rank's `blob` (any size), in rank order, on `root`; the other ranks get none.
  std::vector<std::string> Gather(const std::string& blob, int root = 0) const;
  // Root's `bytes` to every rank (the same size on every rank).
  void Broadcast(std::span<std::byte> bytes, int root = 0) const;

 private:
  int rank_ = 0;
  int size_ = 1;
  bool uses_mpi_ = false;      // false: a job of this process alone
  bool finalize_mpi_ = false;  // this World initialized MPI
};

// How a step combines the ranks' gradients.
enum class Reduction {
  // Gather every rank's gradients and sum them in rank order on every rank: bit-identical
  // on every rank and across reruns with the same number of ranks. Moves N times the data
  // of an all-reduce, cheap for few ranks and small models (41k parameters: 160 KB each).
  kOrdered,
  // One MPI_Allreduce (ncclAllReduce on CUDA): bandwidth-optimal for many ranks or large
  // models; the summation order is the library's, so reruns match only in practice.
  kAllReduce,
};

struct DataParallelOptions {
  Reduction reduction = Reduction::kOrdered;
  // After every update, compare a hash of the parameters across ranks and throw
  // std::runtime_error when a replica has diverged. One extra collective per step.
#ifdef NDEBUG
  bool check_replicas = false;
#else
  bool check_replicas = true;
#endif
};

class DataParallel {
 public:
  // `model`: compiled and built with the same seed on every rank. Throws
  // std::runtime_error when the ranks' parameters differ.
  DataParallel(const World& world, Sequential& model, DataParallelOptions options = {});
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  // One optimizer step on the global batch (x, y), which every rank passes whole: rank r
  // computes the gradient of the mean loss over its shard (ShardRows), weighted by
  // shard_rows / global_rows, the weighted gradients are summed over the ranks, and every
  // rank applies that sum, the gradient of the global batch's mean loss. Returns that mean
  // loss (on every rank). Waits for the step, as Sequential::ComputeGradients does.
  double Step(const Tensor& x, const Tensor& y);

  // Rank `rank`'s rows [begin, end) of a global batch of `rows`: contiguous, in rank
  // order, sizes differing by at most one (the first rows % ranks shards are larger).
  static std::pair<int64_t, int64_t> ShardRows(int64_t rows, int rank, int ranks);

  // FNV-1a over the bits of this rank's parameters.
  uint64_t ParameterHash() const;
  // Throws std::runtime_error, naming the ranks, unless every rank's ParameterHash equals
  // rank 0's. A collective.
  void CheckReplicas() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace fanin::distributed
