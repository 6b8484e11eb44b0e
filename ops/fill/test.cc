// Fill and FillRandom cases (tests/harness/harness.h). Both are exact on every backend: Fill
// writes its value, and FillRandom's element i is RandomValue(spec, i) (fanin/random.h), a pure
// function evaluated in IEEE double without contractions, hence the same bits on the CPU and
// on a GPU: the reference is that function, evaluated here on the host.
#include <string>
#include <vector>

#include "fanin/ops.h"
#include "fanin/random.h"
#include "tests/harness/harness.h"
#include "tests/test_util.h"

namespace fanin::harness {
namespace {

using testing::ExpectBitIdentical;

constexpr int64_t kCols = 37;

void AddFill(int64_t rows) {
  Register(
      {.name = "fill/" + RowsName(rows), .family = "fill", .value = [=](Context& c) -> Instance {
         Tensor t = c.Make({rows, kCols}, c.Uniform(rows * kCols, -3.0f, 3.0f));
         return {.op = [=]() mutable { ops::Fill(t, 0.3f); },
                 .check =
                     [=] {
                       ExpectBitIdentical(std::vector<float>(rows * kCols, 0.3f), t.ToHost(), "t");
                     }};
       }});
}

struct NamedSpec {
  const char* name;
  RandomSpec spec;
};
const NamedSpec kSpecs[] = {
    {"uniform", {RandomDistribution::kUniform, -1.0, 2.0, 42, 0}},
    {"normal", {RandomDistribution::kNormal, 0.5, 2.0, 7, 3}},
    {"truncated_normal", {RandomDistribution::kTruncatedNormal, 0.0, 0.05, 0xdeadbeefcafeULL, 11}},
};

void AddFillRandom(const NamedSpec& s, int64_t rows) {
  Register({.name = std::string("fill_random/") + s.name + "/" + RowsName(rows),
            .family = "fill",
            .value = [=](Context& c) -> Instance {
              Tensor t(c.backend(), {rows, kCols});
              return {.op = [=]() mutable { ops::FillRandom(t, s.spec); },
                      .check =
                          [=] {
                            std::vector<float> expected(rows * kCols);
                            for (size_t i = 0; i < expected.size(); ++i) {
                              expected[i] = RandomValue(s.spec, i);
                            }
                            ExpectBitIdentical(expected, t.ToHost(), "t");
                          }};
            }});
}

// On a view, element i of the view (not of its parent) gets value i; the rest stays.
void AddFillRandomView(const NamedSpec& s) {
  Register({.name = std::string("fill_random/") + s.name + "/row_view",
            .family = "fill",
            .value = [=](Context& c) -> Instance {
              const Tensor parent = c.Make({33, 7}, std::vector<float>(33 * 7, 9.0f));
              Tensor rows = parent.Rows(2, 5);
              return {.op = [=]() mutable { ops::FillRandom(rows, s.spec); },
                      .check =
                          [=] {
                            std::vector<float> expected(33 * 7, 9.0f);
                            for (size_t i = 14; i < 35; ++i)
                              expected[i] = RandomValue(s.spec, i - 14);
                            ExpectBitIdentical(expected, parent.ToHost(), "parent");
                          }};
            }});
}

const Registrar kCases([] {
  for (const int64_t rows : kRows) {
    AddFill(rows);
    for (const NamedSpec& s : kSpecs) AddFillRandom(s, rows);
  }
  for (const NamedSpec& s : kSpecs) AddFillRandomView(s);
});

}  // namespace
}  // namespace fanin::harness
