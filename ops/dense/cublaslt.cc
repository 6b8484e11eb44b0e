#include "ops/dense/cublaslt.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>

#include "cuda/check.h"

namespace fanin::gpu {
namespace {

// The largest power of two (at most 256, cuBLASLt's default assumption) dividing the
// address: what MIN_ALIGNMENT_*_BYTES may promise for this operand. A row view of a matrix
// (Tensor::Rows) or a parameter inside a flat buffer may be only 4-byte aligned; an
// algorithm chosen for 256-byte operands could then fail or read misaligned vectors.
uint32_t Alignment(const void* p) {
  const auto address = reinterpret_cast<uintptr_t>(p);
  const uintptr_t lowest_bit = address & (~address + 1);
  return static_cast<uint32_t>(lowest_bit == 0 ? 256 : std::min<uintptr_t>(lowest_bit, 256));
}

}  // namespace

// Everything cublasLtMatmul needs for one key but the pointers. Destroys what it created.
struct LtDense::Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t w_layout = nullptr;  // cuBLASLt's A
  cublasLtMatrixLayout_t x_layout = nullptr;  // cuBLASLt's B
  cublasLtMatrixLayout_t z_layout = nullptr;  // cuBLASLt's C and D (the same matrix)
  cublasLtMatmulAlgo_t algo{};
  bool found = false;  // whether the heuristic returned an algorithm

  Plan() = default;
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;
  ~Plan() {  // a destructor cannot report errors; destroying descriptors only frees host memory
    if (z_layout != nullptr) cublasLtMatrixLayoutDestroy(z_layout);
    if (x_layout != nullptr) cublasLtMatrixLayoutDestroy(x_layout);
    if (w_layout != nullptr) cublasLtMatrixLayoutDestroy(w_layout);
    if (desc != nullptr) cublasLtMatmulDescDestroy(desc);
  }
};

LtDense::LtDense(void* workspace, size_t workspace_bytes)
    : workspace_(workspace), workspace_bytes_(workspace_bytes) {
  FANIN_CUDA_CHECK(cublasLtCreate(&handle_));
}

LtDense::~LtDense() {
  plans_.clear();  // the descriptors before the handle
  if (handle_ != nullptr) cublasLtDestroy(handle_);
}

// cuBLASLt is column-major, like cuBLAS. The row-major z [n x m] = x [n x k] w [k x m] is,
// byte for byte, the column-major z^T [m x n] = w^T [m x k] x^T [k x n], where each
// row-major matrix read as column-major already is its transpose: A = w as an [m x k]
// column-major matrix (ld m), B = x as [k x n] (ld k), C = D = z as [m x n] (ld m), no
// transposes (the trick of ops/gemm/cuda.cc). The bias, one value per column of the
// row-major z, is then one value per row of the column-major D, which is exactly what
// CUBLASLT_EPILOGUE_BIAS adds ("bias vector length must match matrix D rows", broadcast
// over D's columns, added before any further epilogue step).
std::unique_ptr<LtDense::Plan> LtDense::MakePlan(const Key& key, const float* bias) const {
  const auto [n, k, m, tf32, align_x, align_w, align_z, align_bias] = key;
  (void)align_bias;                      // promised by setting the bias pointer itself (below)
  auto plan = std::make_unique<Plan>();  // cleans up whatever is created if a call throws

  // FP32 unless the user opted in to TF32 tensor cores, as ops/gemm/cuda.cc; alpha and
  // beta are host floats (the default pointer mode).
  const cublasComputeType_t compute = tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  FANIN_CUDA_CHECK(cublasLtMatmulDescCreate(&plan->desc, compute, CUDA_R_32F));
  const cublasOperation_t no_transpose = CUBLAS_OP_N;
  FANIN_CUDA_CHECK(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_TRANSA,
                                                  &no_transpose, sizeof(no_transpose)));
  FANIN_CUDA_CHECK(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_TRANSB,
                                                  &no_transpose, sizeof(no_transpose)));
  // Only the bias: cuBLASLt's RELU_BIAS/GELU_BIAS epilogues write the activated output and
  // not z, which the backward pass needs (fanin keeps both z and a). RELU_AUX_BIAS adds
  // only a bit-mask of z > 0 as its auxiliary output (cublasLt.h: "ReLu uses a bit-mask"),
  // still not z; GELU_AUX_BIAS would store z, but fanin has no GELU. The activation is
  // fanin's own pass over z (ops/dense/cuda.cc).
  const cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
  FANIN_CUDA_CHECK(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_EPILOGUE,
                                                  &epilogue, sizeof(epilogue)));
  const cudaDataType_t bias_type = CUDA_R_32F;
  FANIN_CUDA_CHECK(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE,
                                                  &bias_type, sizeof(bias_type)));
  // The heuristic reads the bias pointer's value (not its data) to learn its alignment
  // (cublasLt.h, CUBLASLT_MATMUL_DESC_BIAS_POINTER); Forward sets each call's own pointer,
  // whose alignment is part of the key.
  FANIN_CUDA_CHECK(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                                  &bias, sizeof(bias)));

  const auto rows = [](int64_t r) { return static_cast<uint64_t>(r); };
  FANIN_CUDA_CHECK(cublasLtMatrixLayoutCreate(&plan->w_layout, CUDA_R_32F, rows(m), rows(k), m));
  FANIN_CUDA_CHECK(cublasLtMatrixLayoutCreate(&plan->x_layout, CUDA_R_32F, rows(k), rows(n), k));
  FANIN_CUDA_CHECK(cublasLtMatrixLayoutCreate(&plan->z_layout, CUDA_R_32F, rows(m), rows(n), m));

  cublasLtMatmulPreference_t preference = nullptr;
  FANIN_CUDA_CHECK(cublasLtMatmulPreferenceCreate(&preference));
  // Released however this block is left.
  const std::unique_ptr<cublasLtMatmulPreferenceOpaque_t,
                        cublasStatus_t (*)(cublasLtMatmulPreference_t)>
      preference_guard(preference, cublasLtMatmulPreferenceDestroy);
  const uint64_t max_workspace = workspace_bytes_;
  FANIN_CUDA_CHECK(cublasLtMatmulPreferenceSetAttribute(
      preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &max_workspace, sizeof(max_workspace)));
  const std::pair<cublasLtMatmulPreferenceAttributes_t, uint32_t> alignments[] = {
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, align_w},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, align_x},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, align_z},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, align_z},
  };
  for (const auto& [attribute, bytes] : alignments) {
    FANIN_CUDA_CHECK(
        cublasLtMatmulPreferenceSetAttribute(preference, attribute, &bytes, sizeof(bytes)));
  }

  cublasLtMatmulHeuristicResult_t result{};
  int returned = 0;
  const cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(
      handle_, plan->desc, plan->w_layout, plan->x_layout, plan->z_layout, plan->z_layout,
      preference, 1, &result, &returned);
  // NOT_SUPPORTED: "no heuristic function available for current configuration", i.e. no
  // algorithm, like a count of 0; remembered, so that the caller's fallback does not query
  // again every step. Any other failure is an error.
  if (status != CUBLAS_STATUS_NOT_SUPPORTED) {
    FANIN_CUDA_CHECK(status);
    plan->found = returned > 0 && result.state == CUBLAS_STATUS_SUCCESS;
    if (plan->found) plan->algo = result.algo;
  }
  return plan;
}

bool LtDense::Forward(const float* x, const float* w, const float* bias, float* z, int64_t n,
                      int64_t k, int64_t m, bool tf32, cudaStream_t stream) {
  const Key key{n, k, m, tf32, Alignment(x), Alignment(w), Alignment(z), Alignment(bias)};
  auto it = plans_.find(key);
  if (it == plans_.end()) it = plans_.emplace(key, MakePlan(key, bias)).first;
  const Plan& plan = *it->second;
  if (!plan.found) return false;
  // Host-side descriptor state, read when the call is enqueued (and so fixed into a
  // captured graph at capture time); layers of the same shape share the plan.
  FANIN_CUDA_CHECK(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                                  &bias, sizeof(bias)));
  const float alpha = 1.0f, beta = 0.0f;  // beta = 0: z's old contents are not an input
  FANIN_CUDA_CHECK(cublasLtMatmul(handle_, plan.desc, &alpha, w, plan.w_layout, x, plan.x_layout,
                                  &beta, z, plan.z_layout, z, plan.z_layout, &plan.algo, workspace_,
                                  workspace_bytes_, stream));
  return true;
}

namespace {

// Created with the backend, not on first use, so that no handle is created during a capture.
const int kSlot = RegisterOpState([](CudaBackend& backend,
                                     const BackendOptions&) -> std::unique_ptr<OpState> {
  return std::make_unique<LtDense>(backend.cublas_workspace(), backend.cublas_workspace_bytes());
});

}  // namespace

LtDense& LtDenseOf(const CudaBackend& backend) { return *backend.op_state<LtDense>(kSlot); }

}  // namespace fanin::gpu
