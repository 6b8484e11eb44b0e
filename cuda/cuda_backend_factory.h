// The CUDA backend's entry points for src/backend_factory.cc. Plain C++, no CUDA headers:
// it is included by files the host compiler builds, and only when FANIN_HAS_CUDA is set.
#pragma once

#include <memory>

#include "fanin/backend.h"

namespace fanin {

// A backend on GPU options.device_index, with its own stream, cuBLAS handle and memory
// cache. Throws std::runtime_error when that GPU does not exist or cannot be used.
std::shared_ptr<Backend> CreateCudaBackend(const BackendOptions& options);
// Number of CUDA GPUs usable by this process; 0 (never an exception) when there is no
// driver or no GPU.
int CudaDeviceCount();

}  // namespace fanin
