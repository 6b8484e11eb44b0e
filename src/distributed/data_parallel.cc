#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "fanin/distributed.h"
#include "fanin/ops.h"
#include "src/distributed/device_reducer.h"
#include "src/registry.h"

namespace fanin::distributed {

struct DataParallel::State {
  const World& world;
  Sequential& model;
  DataParallelOptions options;
  // Set when the model's backend registered a reducer (NCCL for CUDA): its gradients are
  // reduced where they are, without a round trip through host memory.
  std::unique_ptr<DeviceReducer> device_reducer;

  // grads = sum over ranks r, in rank order, of weights[r] * (rank r's grads), through
  // host memory and MPI.
  void ReduceOnHost(Tensor& grads, const std::vector<float>& weights) const {
    std::vector<float> local = grads.ToHost();
    if (options.reduction == Reduction::kAllReduce) {
      const float weight = weights[static_cast<size_t>(world.rank())];
      for (float& g : local) g *= weight;
      world.AllReduceSum(local);
    } else {
      const std::vector<float> all = world.AllGather(std::span<const float>(local));
      std::fill(local.begin(), local.end(), 0.0f);
      const size_t count = local.size();
      for (size_t r = 0; r < weights.size(); ++r) {
        const float* shard = all.data() + r * count;
        for (size_t i = 0; i < count; ++i) local[i] += weights[r] * shard[i];
      }
    }
    grads.CopyFromHost(local);
  }
};

DataParallel::DataParallel(const World& world, Sequential& model, DataParallelOptions options)
    : state_(std::make_unique<State>(State{world, model, options})) {
  if (!model.parameters().defined()) {
    throw std::logic_error(
        "DataParallel: build the model (with the same seed on every rank) first");
  }
  if (const DeviceReducerFactory* make = FindDeviceReducer(model.backend().name())) {
    state_->device_reducer = (*make)(world, model.gradients());
  }
  CheckReplicas();
}

DataParallel::~DataParallel() = default;

std::pair<int64_t, int64_t> DataParallel::ShardRows(int64_t rows, int rank, int ranks) {
  if (rows < 0 || ranks < 1 || rank < 0 || rank >= ranks) {
    throw std::invalid_argument("ShardRows: rank " + std::to_string(rank) + " of " +
                                std::to_string(ranks) + " ranks, " + std::to_string(rows) +
                                " rows");
  }
  const int64_t base = rows / ranks, extra = rows % ranks;
  const int64_t begin = rank * base + std::min<int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

double DataParallel::Step(const Tensor& x, const Tensor& y) {
  State& s = *state_;
  const int64_t rows = x.rows();
  if (rows < 1 || !y.defined() || y.rows() != rows) {
    throw std::invalid_argument("DataParallel::Step: x " + ShapeToString(x.shape()) + " and y " +
                                ShapeToString(y.shape()) +
                                " must hold the same number (at least one) of rows");
  }
  const int rank = s.world.rank(), ranks = s.world.size();
  // Every rank knows every shard's size, hence every weight: the global batch's mean loss
  // is the shards' mean losses weighted by their share of the rows.
  std::vector<float> weights;
  for (int r = 0; r < ranks; ++r) {
    const auto [begin, end] = ShardRows(rows, r, ranks);
    weights.push_back(
        static_cast<float>(static_cast<double>(end - begin) / static_cast<double>(rows)));
  }
  const auto [begin, end] = ShardRows(rows, rank, ranks);
  Tensor grads = s.model.gradients();
  double weighted_loss = 0.0;
  if (end > begin) {
    weighted_loss = s.model.ComputeGradients(x.Rows(begin, end), y.Rows(begin, end)) *
                    static_cast<double>(end - begin) / static_cast<double>(rows);
  } else {
    // More ranks than rows: this rank contributes nothing, but takes part in the reduction.
    ops::Fill(grads, 0.0f);
  }
  if (s.device_reducer) {
    s.device_reducer->Reduce(s.options.reduction, grads, weights);
  } else {
    s.ReduceOnHost(grads, weights);
  }
  double loss = 0.0;
  for (double l : s.world.AllGather(std::span<const double>(&weighted_loss, 1))) loss += l;
  s.model.ApplyGradients();
  if (s.options.check_replicas) CheckReplicas();
  return loss;
}

uint64_t DataParallel::ParameterHash() const {
  const std::vector<float> values = state_->model.parameters().ToHost();
  uint64_t hash = 14695981039346656037ull;  // FNV-1a, 64-bit
  for (float v : values) {
    uint32_t bits = 0;
    std::memcpy(&bits, &v, sizeof bits);
    for (int b = 0; b < 4; ++b) {
      hash ^= (bits >> (8 * b)) & 0xffu;
      hash *= 1099511628211ull;
    }
  }
  return hash;
}

void DataParallel::CheckReplicas() const {
  const uint64_t hash = ParameterHash();
  const std::vector<uint64_t> hashes = state_->world.AllGather(std::span<const uint64_t>(&hash, 1));
  std::string diverged;
  for (size_t r = 1; r < hashes.size(); ++r) {
    if (hashes[r] != hashes[0]) diverged += (diverged.empty() ? "" : ", ") + std::to_string(r);
  }
  if (!diverged.empty()) {
    throw std::runtime_error("DataParallel: the parameters of rank(s) " + diverged +
                             " differ from rank 0's after " +
                             std::to_string(state_->model.steps_taken()) +
                             " steps; every rank must build the model with the same seed and "
                             "step on the same global batches");
  }
}

bool RegisterDeviceReducer(std::string backend_name, DeviceReducerFactory factory) {
  return internal::Registry<DeviceReducerFactory>::Add(std::move(backend_name), std::move(factory));
}

const DeviceReducerFactory* FindDeviceReducer(std::string_view backend_name) {
  return internal::Registry<DeviceReducerFactory>::Find(backend_name);
}

}  // namespace fanin::distributed
