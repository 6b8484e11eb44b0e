#include "ops/stats/op.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "fanin/ops.h"
#include "ops/check.h"
#include "ops/dispatch.h"
#include "ops/stats/slot.h"

namespace fanin {

double TensorStats::Norm() const {
  const auto finite = static_cast<double>(count - nan_count - inf_count);
  return std::sqrt(finite * (std * std + mean * mean));
}

StatsBuffer::StatsBuffer(std::shared_ptr<Backend> backend, int64_t slots, bool log2_histograms)
    : slots_(slots), log2_histograms_(log2_histograms) {
  if (slots < 1) {
    throw std::invalid_argument("StatsBuffer: slots must be >= 1, got " + std::to_string(slots));
  }
  storage_ = Tensor(std::move(backend), {ops::internal::StatsBufferFloats(slots, log2_histograms)});
  ops::Fill(storage_, 0.0f);  // all-zero bytes: every slot reads as an empty tensor
}

std::vector<TensorStats> StatsBuffer::Read() const {
  using ops::internal::StatsSlot;
  const std::vector<float> host = storage_.ToHost();
  const StatsSlot* slots = ops::internal::SlotsOf(host.data());
  std::vector<TensorStats> all(static_cast<size_t>(slots_));
  for (int64_t i = 0; i < slots_; ++i) {
    const StatsSlot& slot = slots[i];
    TensorStats& s = all[static_cast<size_t>(i)];
    s.count = slot.count;
    s.nan_count = slot.nan;
    s.inf_count = slot.inf;
    s.zero_count = slot.zeros;
    s.saturated_count = slot.saturated;
    const int64_t finite = slot.count - slot.nan - slot.inf;
    if (finite > 0) {
      const double n = static_cast<double>(finite);
      const double mean_shifted = slot.sum / n;
      s.mean = slot.shift + mean_shifted;
      s.std = std::sqrt(std::max(0.0, slot.sum_sq / n - mean_shifted * mean_shifted));
      s.min = slot.min;
      s.max = slot.max;
    }
    if (log2_histograms_) {
      const auto* counts = reinterpret_cast<const int64_t*>(slots + slots_) + i * kLog2Bins;
      s.log2_histogram.assign(counts, counts + kLog2Bins);
    }
  }
  return all;
}

namespace ops {

std::vector<TensorStats> Stats(std::span<const Tensor* const> tensors,
                               const HistogramSpec& histogram) {
  internal::CheckHistogram(histogram);
  if (tensors.empty()) return {};
  Backend& backend = internal::OneBackend("Stats", {{"tensor 0", tensors[0]}});
  for (size_t i = 1; i < tensors.size(); ++i) {
    const std::string name = "tensor " + std::to_string(i);
    internal::OneBackend("Stats", {{"tensor 0", tensors[0]}, {name, tensors[i]}});
  }
  return internal::Run<internal::StatsOp>(backend, tensors, histogram);
}

void Summarize(const Tensor& t, const StatsOut& out) {
  Backend& backend = internal::OneBackend("Summarize", {{"t", &t}});
  internal::CheckStatsOut("Summarize", "out", out, backend);
  internal::Run<internal::SummarizeOp>(backend, t, out);
}

}  // namespace ops
}  // namespace fanin
