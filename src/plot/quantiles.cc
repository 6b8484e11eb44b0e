// Quantiles of histograms and of samples: what box plots draw, and what the studies
// report over seeds (median with a 10th-90th percentile band).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "fanin/plot.h"

namespace fanin::plot {
namespace {

constexpr double kLevels[] = {0.10, 0.25, 0.50, 0.75, 0.90};

Quantiles FromLevels(const double (&v)[5]) {
  return {.p10 = v[0], .p25 = v[1], .median = v[2], .p75 = v[3], .p90 = v[4]};
}

Quantiles AllNaN() {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  return {.p10 = nan, .p25 = nan, .median = nan, .p75 = nan, .p90 = nan};
}

}  // namespace

Quantiles QuantilesOf(const Histogram& histogram) {
  struct Bin {
    double lo, hi, count;
  };
  std::vector<Bin> bins;
  double total = 0;
  for (size_t i = 0; i + 1 < histogram.edges.size() && i < histogram.counts.size(); ++i) {
    const Bin bin{histogram.edges[i], histogram.edges[i + 1], histogram.counts[i]};
    if (!std::isfinite(bin.lo) || !std::isfinite(bin.hi) || !std::isfinite(bin.count) ||
        bin.count < 0) {
      continue;
    }
    bins.push_back(bin);
    total += bin.count;
  }
  if (!(total > 0)) return AllNaN();
  double values[5];
  for (int q = 0; q < 5; ++q) {
    // The value where the cumulative count reaches the level, values spread evenly in bins.
    const double target = kLevels[q] * total;
    double below = 0;
    values[q] = bins.back().hi;
    for (const Bin& bin : bins) {
      if (bin.count > 0 && below + bin.count >= target) {
        values[q] = bin.lo + (target - below) / bin.count * (bin.hi - bin.lo);
        break;
      }
      below += bin.count;
    }
  }
  return FromLevels(values);
}

Quantiles QuantilesOf(std::vector<double> samples) {
  std::erase_if(samples, [](double v) { return !std::isfinite(v); });
  if (samples.empty()) return AllNaN();
  std::sort(samples.begin(), samples.end());
  double values[5];
  for (int q = 0; q < 5; ++q) {
    // numpy.percentile's default ("linear"): position q * (n - 1) between order statistics.
    const double position = kLevels[q] * static_cast<double>(samples.size() - 1);
    const size_t i = static_cast<size_t>(position);
    const double next = samples[std::min(i + 1, samples.size() - 1)];
    values[q] = samples[i] + (position - static_cast<double>(i)) * (next - samples[i]);
  }
  return FromLevels(values);
}

void AppendPercentiles(double x, const Quantiles& q, Band& band, Line& median) {
  band.x.push_back(x);
  band.lower.push_back(q.p10);
  band.upper.push_back(q.p90);
  median.x.push_back(x);
  median.y.push_back(q.median);
}

}  // namespace fanin::plot
