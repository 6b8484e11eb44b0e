#include "cuda/nccl_reducer.h"

#include <memory>
#include <stdexcept>
#include <string>

#include "cuda/check.h"
#include "fanin/ops.h"

namespace fanin::distributed {
namespace {

void CheckNccl(ncclResult_t status, const char* call) {
  if (status == ncclSuccess) return;
  throw std::runtime_error(std::string(call) + " failed: " + ncclGetErrorString(status));
}

}  // namespace

NcclReducer::NcclReducer(const World& world, const Tensor& grads)
    : rank_(world.rank()), size_(world.size()) {
  cudaPointerAttributes attributes{};
  FANIN_CUDA_CHECK(cudaPointerGetAttributes(&attributes, grads.data()));
  device_ = attributes.device;
  FANIN_CUDA_CHECK(cudaSetDevice(device_));
  ncclUniqueId id{};
  if (world.is_root()) CheckNccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
  world.Broadcast(std::as_writable_bytes(std::span<ncclUniqueId>(&id, 1)));
  CheckNccl(ncclCommInitRank(&comm_, size_, id, rank_), "ncclCommInitRank");
  FANIN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  gathered_ = Tensor(grads.backend_ptr(), {static_cast<int64_t>(size_) * grads.size()});
}

NcclReducer::~NcclReducer() {
  cudaSetDevice(device_);
  cudaStreamDestroy(stream_);
  ncclCommDestroy(comm_);
}

void NcclReducer::Reduce(Reduction reduction, Tensor& grads, std::span<const float> weights) {
  Backend& backend = grads.backend();
  backend.Synchronize();
  FANIN_CUDA_CHECK(cudaSetDevice(device_));
  const size_t count = static_cast<size_t>(grads.size());
  if (reduction == Reduction::kAllReduce) {
    // PreMulSum scales each rank's input by its own weight inside the one collective.
    float weight = weights[static_cast<size_t>(rank_)];
    ncclRedOp_t op;
    CheckNccl(ncclRedOpCreatePreMulSum(&op, &weight, ncclFloat, ncclScalarHostImmediate, comm_),
              "ncclRedOpCreatePreMulSum");
    CheckNccl(ncclAllReduce(grads.data(), grads.data(), count, ncclFloat, op, comm_, stream_),
              "ncclAllReduce");
    FANIN_CUDA_CHECK(cudaStreamSynchronize(stream_));
    CheckNccl(ncclRedOpDestroy(op, comm_), "ncclRedOpDestroy");
    return;
  }
  CheckNccl(ncclAllGather(grads.data(), gathered_.data(), count, ncclFloat, comm_, stream_),
            "ncclAllGather");
  FANIN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  // The sum in rank order, on the backend's stream, the same on every rank.
  ops::Fill(grads, 0.0f);
  for (size_t r = 0; r < weights.size(); ++r) {
    ops::Axpy(weights[r], gathered_.View(static_cast<int64_t>(r * count), grads.shape()), grads);
  }
}

namespace {

const bool kRegistered = RegisterDeviceReducer(
    "cuda", [](const World& world, const Tensor& grads) -> std::unique_ptr<DeviceReducer> {
      return std::make_unique<NcclReducer>(world, grads);
    });

}  // namespace

}  // namespace fanin::distributed
