// The CUDA backend's gradient reduction through NCCL, on the device buffers themselves.
// Internal to fanin; compiled only when fanin has CUDA, MPI and NCCL (FANIN_HAS_NCCL), and
// registered as the "cuda" backend's DeviceReducer (src/distributed/device_reducer.h).
#pragma once

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <span>

#include "fanin/distributed.h"
#include "fanin/tensor.h"
#include "src/distributed/device_reducer.h"

namespace fanin::distributed {

class NcclReducer final : public DeviceReducer {
 public:
  // One NCCL communicator over the world's ranks on the GPU that holds `grads` (one GPU per
  // rank); rank 0 makes its id and MPI carries it to the others.
  NcclReducer(const World& world, const Tensor& grads);
  ~NcclReducer();
  NcclReducer(const NcclReducer&) = delete;
  NcclReducer& operator=(const NcclReducer&) = delete;

  // grads = sum over ranks r of weights[r] * (rank r's grads), on every rank. Waits for
  // the backward pass that wrote grads and for the reduction, so the caller's next backend
  // call (the update) sees the result: the backend's stream is its own, NCCL runs on ours.
  void Reduce(Reduction reduction, Tensor& grads, std::span<const float> weights) override;

 private:
  int rank_, size_, device_ = 0;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  Tensor gathered_;  // [ranks x parameters], for Reduction::kOrdered
};

}  // namespace fanin::distributed
