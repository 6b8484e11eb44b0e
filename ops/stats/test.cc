// Stats cases (tests/harness/harness.h) against the double reference of ops/stats/reference.h:
// counts, min, max and histograms exact (the same values and the same double bin arithmetic on
// every backend), mean and std within the bound derived there for two summation orders.
#include <cmath>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fanin/ops.h"
#include "ops/stats/reference.h"
#include "tests/expect_error.h"
#include "tests/harness/harness.h"
#include "tests/test_util.h"

namespace fanin::harness {
namespace {

using testing::ExpectStatsEquivalent;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

struct NamedSpec {
  const char* name;
  HistogramSpec spec;
};
const NamedSpec kSpecs[] = {
    {"no_histogram", {.bins = 0}},
    {"auto_range", {.bins = 10}},
    {"fixed_range", {.bins = 7, .auto_range = false, .lo = -0.5f, .hi = 0.5f}},
    {"many_bins", {.bins = 10000}},  // more bins than CUDA's shared memory holds
};

// One 1-D tensor per input on the case's backend.
std::vector<Tensor> MakeTensors(Context& c, const std::vector<std::vector<float>>& inputs) {
  std::vector<Tensor> tensors;
  for (const std::vector<float>& x : inputs) {
    tensors.push_back(c.Make({static_cast<int64_t>(x.size())}, x));
  }
  return tensors;
}

// Stats over `inputs` (one tensor each, one call) against the reference, tensor by tensor.
Instance StatsInstance(Context& c, std::vector<std::vector<float>> inputs, HistogramSpec spec) {
  const std::vector<Tensor> tensors = MakeTensors(c, inputs);
  auto result = std::make_shared<std::vector<TensorStats>>();
  return {.op =
              [=] {
                std::vector<const Tensor*> pointers;
                for (const Tensor& t : tensors) pointers.push_back(&t);
                *result = ops::Stats(pointers, spec);
              },
          .check =
              [=] {
                ASSERT_EQ(result->size(), inputs.size());
                for (size_t t = 0; t < inputs.size(); ++t) {
                  ExpectStatsEquivalent((*result)[t], inputs[t], spec,
                                        "tensor " + std::to_string(t));
                }
              }};
}

// Three tensors in one call: values with NaN and +-Inf sprinkled at random places (one in 50,
// and the last element, in the scalar tail of every loop), a constant (its histogram's range
// is widened to [c - 0.5, c + 0.5]) and all NaN.
void AddStats(const NamedSpec& s, int64_t rows) {
  Register({.name = std::string("stats/") + s.name + "/" + RowsName(rows),
            .family = "stats",
            .value = [=](Context& c) -> Instance {
              const int64_t n = rows * 17;
              std::vector<float> mixed = c.Uniform(n, -2.0f, 3.0f);
              const std::vector<float> where = c.Uniform(1 + n / 50, 0.0f, 1.0f);
              const float specials[] = {kNaN, kInf, -kInf};
              for (size_t k = 0; k < where.size() && n > 0; ++k) {
                mixed[static_cast<size_t>(where[k] * static_cast<float>(n - 1))] = specials[k % 3];
              }
              if (n > 0) mixed.back() = kNaN;
              return StatsInstance(
                  c, {mixed, std::vector<float>(n, 0.25f), std::vector<float>(rows, kNaN)}, s.spec);
            }});
}

// Values whose statistics are known by hand, so that the reference is checked too.
void AddHandpicked() {
  Register({.name = "stats/handpicked",
            .family = "stats",
            .value = [](Context& c) -> Instance {
              // Values on a grid: bin centers k + 0.5 with a jitter of at most 0.3, plus the
              // exact extremes 0 and 10, so that no value lies near an interior bin edge.
              std::vector<float> grid = {0.0f, 10.0f};
              const std::vector<float> jitter = c.Uniform(33 * 7 - 2, -0.3f, 0.3f);
              for (size_t i = 0; i < jitter.size(); ++i) {
                grid.push_back(static_cast<float>((i * 7) % 10 + 0.5 + jitter[i]));
              }
              grid.push_back(kNaN);
              const std::vector<std::vector<float>> inputs = {
                  {kNaN, 1.0f, kInf, -kInf, 3.0f, kNaN}, std::vector<float>(7, 0.25f), grid};
              std::vector<Tensor> tensors;
              for (const std::vector<float>& x : inputs) {
                tensors.push_back(c.Make({static_cast<int64_t>(x.size())}, x));
              }
              auto auto_range = std::make_shared<std::vector<TensorStats>>();
              auto fixed_range = std::make_shared<std::vector<TensorStats>>();
              return {.op =
                          [=] {
                            const Tensor* pointers[] = {&tensors[0], &tensors[1], &tensors[2]};
                            *auto_range = ops::Stats(pointers, {.bins = 2});
                            const Tensor* grid_only[] = {&tensors[2]};
                            *fixed_range = ops::Stats(
                                grid_only,
                                {.bins = 5, .auto_range = false, .lo = 2.0f, .hi = 7.0f});
                          },
                      .check =
                          [=] {
                            ASSERT_EQ(auto_range->size(), 3u);
                            const TensorStats& special = (*auto_range)[0];
                            EXPECT_EQ(special.count, 6);
                            EXPECT_EQ(special.nan_count, 2);
                            EXPECT_EQ(special.inf_count, 2);
                            EXPECT_EQ(special.mean, 2.0);
                            EXPECT_EQ(special.std, 1.0);  // population std, as numpy's default
                            EXPECT_EQ(special.histogram, (std::vector<int64_t>{1, 1}));
                            const TensorStats& constant = (*auto_range)[1];
                            EXPECT_EQ(constant.std, 0.0);
                            EXPECT_EQ(constant.hist_lo, -0.25f);
                            EXPECT_EQ(constant.histogram, (std::vector<int64_t>{0, 7}));
                            // The maximum falls in the last bin (closed on the right, like numpy);
                            // values outside a fixed range are not counted, nor is NaN.
                            std::vector<int64_t> bins(10, 0);
                            for (size_t i = 0; i < jitter.size(); ++i) ++bins[(i * 7) % 10];
                            ++bins[0];
                            ++bins[9];
                            ASSERT_EQ(fixed_range->size(), 1u);
                            EXPECT_EQ((*fixed_range)[0].hist_lo, 2.0f);
                            EXPECT_EQ((*fixed_range)[0].hist_hi, 7.0f);
                            EXPECT_EQ((*fixed_range)[0].histogram,
                                      std::vector<int64_t>(bins.begin() + 2, bins.begin() + 7));
                            for (size_t t = 0; t < 3; ++t) {
                              ExpectStatsEquivalent((*auto_range)[t], inputs[t], {.bins = 2},
                                                    "tensor " + std::to_string(t));
                            }
                          }};
            },
            .timed = false});
}

// ops::Summarize (the fused statistics' one-pass code) on the same kinds of inputs as Stats,
// plus a large mean over a small spread, where an unshifted sum of squares would lose the
// variance, and zeros, saturated values, subnormals and both signs for the counts and bins.
void AddSummarize(bool log2_histograms, int64_t rows) {
  Register({.name = std::string("stats.summarize/") + (log2_histograms ? "log2" : "moments") + "/" +
                    RowsName(rows),
            .family = "stats",
            .value = [=](Context& c) -> Instance {
              const int64_t n = rows * 17;
              std::vector<float> mixed = c.Uniform(n, -2.0f, 3.0f);
              const std::vector<float> where = c.Uniform(1 + n / 20, 0.0f, 1.0f);
              const float specials[] = {kNaN, kInf, -kInf, 0.0f, -0.0f, 1e-40f, -1e-39f};
              for (size_t k = 0; k < where.size() && n > 0; ++k) {
                mixed[static_cast<size_t>(where[k] * static_cast<float>(n - 1))] = specials[k % 7];
              }
              std::vector<float> offset = c.Uniform(n, -1e-3f, 1e-3f);
              for (float& v : offset) v += 1000.0f;
              std::vector<float> first_nan = c.Uniform(n, 0.0f, 1.0f);
              if (n > 0) first_nan.front() = kNaN;
              const std::vector<std::vector<float>> inputs = {mixed, offset, first_nan,
                                                              std::vector<float>(rows, kNaN)};
              const SaturationBand band{-0.99f, 0.99f};
              auto buffer = std::make_shared<StatsBuffer>(
                  c.backend(), static_cast<int64_t>(inputs.size()), log2_histograms);
              const std::vector<Tensor> tensors = MakeTensors(c, inputs);
              auto result = std::make_shared<std::vector<TensorStats>>();
              return {
                  .op =
                      [=] {
                        for (size_t t = 0; t < tensors.size(); ++t) {
                          ops::Summarize(tensors[t], {buffer.get(), static_cast<int64_t>(t), band});
                        }
                        *result = buffer->Read();
                      },
                  .check =
                      [=] {
                        ASSERT_EQ(result->size(), inputs.size());
                        for (size_t t = 0; t < inputs.size(); ++t) {
                          testing::ExpectSummaryEquivalent((*result)[t], inputs[t], band,
                                                           log2_histograms,
                                                           "tensor " + std::to_string(t));
                        }
                      }};
            }});
}

// A negative bin count reached the histogram's allocation (issue 12, item 13).
void AddValidation() {
  Register({.name = "stats.validation", .family = "stats", .validation = [](Context& c) {
              const Tensor t = c.Make({3}, {1, 2, 3});
              const Tensor* tensors[] = {&t};
              const HistogramSpec bad[] = {
                  {.bins = -5},
                  {.bins = kMaxHistogramBins + 1},
                  {.bins = 4, .auto_range = false, .lo = 1.0f, .hi = 0.0f},
                  {.bins = 4, .auto_range = false, .lo = 0.0f, .hi = kNaN}};
              for (const HistogramSpec& spec : bad) {
                testing::ExpectThrowsWith<std::invalid_argument>([&] { ops::Stats(tensors, spec); },
                                                                 {"Stats", "histogram"});
              }
              StatsBuffer buffer(c.backend(), 2, false);
              testing::ExpectThrowsWith<std::invalid_argument>(
                  [&] {
                    ops::Summarize(t, {&buffer, 2, {}});
                  },
                  {"Summarize", "slot 2", "2 slots"});
              testing::ExpectThrowsWith<std::invalid_argument>(
                  [&] {
                    ops::Summarize(t, {nullptr, 0, {}});
                  },
                  {"Summarize", "no StatsBuffer"});
              testing::ExpectThrowsWith<std::invalid_argument>(
                  [&] {
                    ops::Summarize(t, {&buffer, 0, {kNaN, 1.0f}});
                  },
                  {"Summarize", "saturation", "NaN"});
              testing::ExpectThrowsWith<std::invalid_argument>(
                  [&] { StatsBuffer(c.backend(), 0, true); }, {"StatsBuffer", "slots", "0"});
            }});
}

const Registrar kCases([] {
  for (const NamedSpec& s : kSpecs) {
    for (const int64_t rows : kRows) AddStats(s, rows);
  }
  for (const bool log2 : {false, true}) {
    for (const int64_t rows : kRows) AddSummarize(log2, rows);
  }
  AddHandpicked();
  AddValidation();
});

}  // namespace
}  // namespace fanin::harness
