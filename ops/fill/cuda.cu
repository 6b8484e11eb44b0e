// Fills: constant, and random from the Philox stream of random.h.
//
// A random value is a pure function of (seed, stream, element index), so thread i computes
// element i with the same code the CPU backend runs, fanin::RandomValue; the rejection
// samplers simply loop longer in the few threads that re-draw. Bit-identity with the CPU
// rests on IEEE double + - * / and sqrt, which CUDA rounds correctly, and on no
// multiply-add being fused: random.h uses __dmul_rn/__dadd_rn on the device, and this
// file is compiled with --fmad=false as well (ops/CMakeLists.txt), so no later edit of
// random.h can silently introduce an FMA.
#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "cuda/launch.cuh"
#include "ops/dispatch.h"
#include "ops/fill/op.h"

namespace fanin::gpu {
namespace {

__global__ void FillKernel(float* x, int64_t n, float value) {
  for (int64_t i = GridStart(); i < n; i += GridStride()) x[i] = value;
}

__global__ void FillRandomKernel(float* x, int64_t n, RandomSpec spec) {
  for (int64_t i = GridStart(); i < n; i += GridStride()) {
    x[i] = RandomValue(spec, static_cast<uint64_t>(i));
  }
}

void LaunchFill(float* x, int64_t n, float value, cudaStream_t stream) {
  if (n == 0) return;
  FillKernel<<<BlocksFor(n), kThreads, 0, stream>>>(x, n, value);
  FANIN_CUDA_CHECK_LAUNCH();
}

void LaunchFillRandom(float* x, int64_t n, const RandomSpec& spec, cudaStream_t stream) {
  if (n == 0) return;
  FillRandomKernel<<<BlocksFor(n), kThreads, 0, stream>>>(x, n, spec);
  FANIN_CUDA_CHECK_LAUNCH();
}

void Fill(Backend& backend, Tensor& t, float value) {
  auto& cuda = static_cast<CudaBackend&>(backend);
  cuda.Activate();
  LaunchFill(t.data(), t.size(), value, cuda.stream());
}

void FillRandom(Backend& backend, Tensor& t, const RandomSpec& spec) {
  auto& cuda = static_cast<CudaBackend&>(backend);
  cuda.Activate();
  LaunchFillRandom(t.data(), t.size(), spec, cuda.stream());
}

using ops::internal::FillOp;
using ops::internal::FillRandomOp;
using ops::internal::Kernels;
const bool kRegistered = Kernels<FillOp>::Register<CudaBackend>(Fill) &&
                         Kernels<FillRandomOp>::Register<CudaBackend>(FillRandom);

}  // namespace
}  // namespace fanin::gpu
