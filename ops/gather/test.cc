// GatherRows cases (tests/harness/harness.h): a copy, so exact on every backend.
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "fanin/ops.h"
#include "tests/expect_error.h"
#include "tests/harness/harness.h"
#include "tests/test_util.h"

namespace fanin::harness {
namespace {

void AddGather(int64_t rows, int64_t cols) {
  Register({.name = "gather/cols=" + std::to_string(cols) + "/" + RowsName(rows),
            .family = "gather",
            .value = [=](Context& c) -> Instance {
              const std::vector<float> values = c.Uniform(rows * cols, -1.0f, 1.0f);
              const Tensor src = c.Make({rows, cols}, values);
              // Reversed, then every row again in order: duplicates, and more rows than the
              // source.
              std::vector<int64_t> indices(rows);
              std::iota(indices.rbegin(), indices.rend(), 0);
              for (int64_t r = 0; r < rows; ++r) indices.push_back(r);
              Tensor dst(c.backend(), {2 * rows, cols});
              return {.op = [=]() mutable { ops::GatherRows(src, indices, dst); },
                      .check =
                          [=] {
                            std::vector<float> expected;
                            for (const int64_t r : indices) {
                              expected.insert(expected.end(), values.begin() + r * cols,
                                              values.begin() + (r + 1) * cols);
                            }
                            testing::ExpectBitIdentical(expected, dst.ToHost(), "dst");
                          }};
            }});
}

void AddValidation() {
  Register({.name = "gather.validation", .family = "gather", .validation = [](Context& c) {
              using testing::ExpectThrowsWith;
              const Tensor src(c.backend(), {5, 3});
              Tensor dst(c.backend(), {2, 3}), wide(c.backend(), {2, 4});
              const std::vector<int64_t> past_end = {0, 5}, negative = {-1, 0}, one = {0};
              ExpectThrowsWith<std::out_of_range>([&] { ops::GatherRows(src, past_end, dst); },
                                                  {"GatherRows", "index 5", "[5 x 3]"});
              ExpectThrowsWith<std::out_of_range>([&] { ops::GatherRows(src, negative, dst); },
                                                  {"GatherRows", "index -1"});
              ExpectThrowsWith<std::invalid_argument>([&] { ops::GatherRows(src, one, dst); },
                                                      {"GatherRows", "1 rows", "[2 x 3]"});
              ExpectThrowsWith<std::invalid_argument>([&] { ops::GatherRows(src, one, wide); },
                                                      {"GatherRows", "[2 x 4]"});
            }});
}

const Registrar kCases([] {
  for (const int64_t rows : kRows) AddGather(rows, 13);
  AddGather(33, 1);
  AddValidation();
});

}  // namespace
}  // namespace fanin::harness
