// Argument validation of the ops (ops/<op>/op.cc), done once before any backend runs: each
// failure names the op, the tensors and their shapes.
#pragma once

#include <cmath>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>

#include "fanin/backend.h"
#include "fanin/ops.h"
#include "fanin/tensor.h"

namespace fanin::ops::internal {

// A tensor argument and its name in the op's documentation; null for an optional one not given.
struct Arg {
  std::string_view name;
  const Tensor* tensor;
};

// The backend that every given tensor lives on. Throws std::invalid_argument naming the op and
// the tensor when one is undefined or lives on another backend: a host pointer handed to a GPU
// kernel would be an illegal address, fatal to the whole CUDA context.
Backend& OneBackend(std::string_view op, std::initializer_list<Arg> args);

inline void CheckSameSize(std::string_view op, std::string_view a_name, const Tensor& a,
                          std::string_view b_name, const Tensor& b) {
  if (a.size() != b.size()) {
    throw std::invalid_argument(std::string(op) + ": " + std::string(a_name) + " " +
                                ShapeToString(a.shape()) + " and " + std::string(b_name) + " " +
                                ShapeToString(b.shape()) + " differ in size");
  }
}

inline void CheckMatrix(std::string_view op, std::string_view name, const Tensor& t) {
  if (t.rank() != 2) {
    throw std::invalid_argument(std::string(op) + ": " + std::string(name) +
                                " must be a matrix, got shape " + ShapeToString(t.shape()));
  }
}

// `bias` has one value per column of `z`.
inline void CheckBias(std::string_view op, const Tensor& bias, const Tensor& z) {
  if (bias.size() != z.cols()) {
    throw std::invalid_argument(std::string(op) + ": bias " + ShapeToString(bias.shape()) +
                                " does not match the columns of " + ShapeToString(z.shape()));
  }
}

// The shapes of c = op(a) op(b); returns {m, n, k}.
struct GemmDims {
  int64_t m, n, k;
};
inline GemmDims CheckGemm(const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b,
                          const Tensor& c) {
  CheckMatrix("Gemm", "a", a);
  CheckMatrix("Gemm", "b", b);
  CheckMatrix("Gemm", "c", c);
  const int64_t m = transpose_a ? a.dim(1) : a.dim(0);
  const int64_t k = transpose_a ? a.dim(0) : a.dim(1);
  const int64_t kb = transpose_b ? b.dim(1) : b.dim(0);
  const int64_t n = transpose_b ? b.dim(0) : b.dim(1);
  if (k != kb || c.dim(0) != m || c.dim(1) != n) {
    throw std::invalid_argument("Gemm: op(a) of " + ShapeToString(a.shape()) +
                                (transpose_a ? "^T" : "") + " times op(b) of " +
                                ShapeToString(b.shape()) + (transpose_b ? "^T" : "") + " into c " +
                                ShapeToString(c.shape()) + " does not conform");
  }
  return {m, n, k};
}

inline void CheckHistogram(const HistogramSpec& spec) {
  if (spec.bins < 0 || spec.bins > kMaxHistogramBins) {
    throw std::invalid_argument("Stats: histogram bins must be in [0, " +
                                std::to_string(kMaxHistogramBins) + "], got " +
                                std::to_string(spec.bins));
  }
  if (!spec.auto_range && spec.bins > 0 &&
      !(std::isfinite(spec.lo) && std::isfinite(spec.hi) && spec.lo <= spec.hi)) {
    throw std::invalid_argument("Stats: a fixed histogram range needs finite lo <= hi, got [" +
                                std::to_string(spec.lo) + ", " + std::to_string(spec.hi) + "]");
  }
}

// A StatsOut (`what` names it: "z stats") must point at a buffer on the op's backend and at
// one of its slots. NaN bounds would silently count nothing, so they are refused too.
inline void CheckStatsOut(std::string_view op, std::string_view what, const StatsOut& out,
                          const Backend& backend) {
  const std::string where = std::string(op) + ": " + std::string(what);
  if (out.buffer == nullptr || !out.buffer->storage().defined()) {
    throw std::invalid_argument(where + " has no StatsBuffer");
  }
  if (!out.buffer->storage().backend().SharesMemoryWith(backend)) {
    throw std::invalid_argument(where + ": the StatsBuffer lives on " +
                                std::string(out.buffer->storage().backend().name()) +
                                ", the tensors on " + std::string(backend.name()));
  }
  if (out.slot < 0 || out.slot >= out.buffer->slots()) {
    throw std::invalid_argument(where + ": slot " + std::to_string(out.slot) +
                                " of a StatsBuffer of " + std::to_string(out.buffer->slots()) +
                                " slots");
  }
  if (std::isnan(out.saturation.lo) || std::isnan(out.saturation.hi)) {
    throw std::invalid_argument(where + ": saturation band bounds must not be NaN");
  }
}

// Every extent inside the flat buffer of `size` floats, in order and not overlapping, and
// every slot first_slot .. first_slot + 3 extents - 1 in the buffer.
inline void CheckParameterStats(std::string_view op, const ParameterStats& stats, int64_t size,
                                const Backend& backend) {
  const auto count = static_cast<int64_t>(stats.extents.size());
  if (count == 0) return;
  StatsOut first{stats.buffer, stats.first_slot, {}};
  StatsOut last{stats.buffer, stats.first_slot + 3 * count - 1, {}};
  CheckStatsOut(op, "parameter stats", first, backend);
  CheckStatsOut(op, "parameter stats", last, backend);
  int64_t end = 0;
  for (int64_t i = 0; i < count; ++i) {
    const ParameterExtent& e = stats.extents[static_cast<size_t>(i)];
    if (e.offset < end || e.size < 0 || e.size > size - e.offset) {
      throw std::invalid_argument(std::string(op) + ": parameter extent " + std::to_string(i) +
                                  " [" + std::to_string(e.offset) + ", +" + std::to_string(e.size) +
                                  ") overlaps the one before it or "
                                  "leaves the flat buffer of " +
                                  std::to_string(size) + " floats");
    }
    end = e.offset + e.size;
  }
}

// The arguments every loss op shares: totals holds slot `slot` (two floats), label_smoothing
// is in [0, 1], and grad, when given, has the output's shape.
inline void CheckLossArgs(std::string_view op, const Tensor& output, const Tensor* grad,
                          const Tensor& totals, int64_t slot, float label_smoothing = 0.0f) {
  if (slot < 0 || 2 * slot + 1 >= totals.size()) {
    throw std::out_of_range(std::string(op) + ": slot " + std::to_string(slot) +
                            " outside totals " + ShapeToString(totals.shape()));
  }
  if (!(label_smoothing >= 0.0f && label_smoothing <= 1.0f)) {
    throw std::invalid_argument(std::string(op) + ": label_smoothing " +
                                std::to_string(label_smoothing) + " is not in [0, 1]");
  }
  if (grad != nullptr) CheckSameSize(op, "output", output, "grad", *grad);
}

inline void CheckForwardStats(std::string_view op, const ForwardStats& stats,
                              const Backend& backend) {
  CheckStatsOut(op, "z stats", stats.z, backend);
  CheckStatsOut(op, "activation stats", stats.a, backend);
}

}  // namespace fanin::ops::internal
