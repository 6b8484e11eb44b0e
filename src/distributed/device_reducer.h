// Gradient reductions done where the gradients live, by the device's own collective library
// (NCCL for the CUDA backend), without a round trip through host memory. The backend folder
// that provides one registers it by its backend's name when the library loads, so that
// data parallelism (data_parallel.cc) includes no backend's code.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "fanin/distributed.h"
#include "fanin/tensor.h"

namespace fanin::distributed {

class DeviceReducer {
 public:
  virtual ~DeviceReducer() = default;
  // grads = sum over ranks r of weights[r] * (rank r's grads), on every rank, ready for the
  // model's next backend call.
  virtual void Reduce(Reduction reduction, Tensor& grads, std::span<const float> weights) = 0;
};

// Makes the reducer of `world`'s ranks for gradient buffers like `grads`.
using DeviceReducerFactory =
    std::function<std::unique_ptr<DeviceReducer>(const World& world, const Tensor& grads)>;

bool RegisterDeviceReducer(std::string backend_name, DeviceReducerFactory factory);
// The factory registered for `backend_name`, or null (the reduction then goes through MPI).
const DeviceReducerFactory* FindDeviceReducer(std::string_view backend_name);

}  // namespace fanin::distributed
