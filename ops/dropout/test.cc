// Dropout cases (tests/harness/harness.h): the kept elements against the reference's keep
// rule, each x times the float 1 / (1 - rate) (one rounding, which the check repeats in
// float, so it expects the same bits); the kept fraction within 5 standard deviations of
// 1 - rate; another step,
// stream or seed drops other elements; the gradient by finite differences through the same
// mask; the argument errors.
#include <cmath>
#include <string>
#include <vector>

#include "fanin/ops.h"
#include "ops/dropout/reference.h"
#include "tests/expect_error.h"
#include "tests/harness/harness.h"
#include "tests/test_util.h"

namespace fanin::harness {
namespace {

std::vector<double> Reference(const DropoutMask& mask, const std::vector<float>& x) {
  const float scale = 1.0f / (1.0f - mask.rate);
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = testing::RefKeep(mask, i) ? x[i] * scale : 0.0f;
  return y;
}

void AddDropout(float rate, int64_t rows) {
  const int64_t cols = 37;
  Register({.name = "dropout/rate=" + std::to_string(rate).substr(0, 4) + "/" + RowsName(rows),
            .family = "dropout",
            .value = [=](Context& c) -> Instance {
              const std::vector<float> x = c.Uniform(rows * cols, 0.5f, 2.0f);
              const DropoutMask mask{.rate = rate, .seed = 12345, .stream = 7, .step = 3};
              const Tensor in = c.Make({rows, cols}, x);
              Tensor out(c.backend(), {rows, cols});
              return {.op = [=]() mutable { ops::Dropout(mask, in, out); },
                      .check =
                          [=] {
                            const std::vector<double> expected = Reference(mask, x);
                            const std::vector<float> y = out.ToHost();
                            testing::ExpectBitIdentical(expected, y, "dropout");
                            if (rows * cols >= 1000) {
                              double kept = 0.0;
                              for (const float v : y) kept += v != 0.0f;
                              const double n = static_cast<double>(y.size());
                              const double sd = std::sqrt(n * rate * (1 - rate));
                              EXPECT_NEAR(kept, n * (1 - rate), 5 * sd + 1) << "kept elements";
                            }
                          }};
            }});
}

// The mask depends on the step, the stream and the seed, and on nothing else: the same mask
// on a tensor of another shape keeps the same leading elements.
void AddMaskIdentity() {
  Register({.name = "dropout/mask_identity",
            .family = "dropout",
            .value = [](Context& c) -> Instance {
              const std::vector<float> ones(4000, 1.0f);
              const Tensor in = c.Make({100, 40}, ones), flat = c.Make({4000}, ones);
              const DropoutMask base{.rate = 0.5f, .seed = 1, .stream = 2, .step = 3};
              std::vector<DropoutMask> masks = {base, base, base, base};
              masks[1].step = 4;
              masks[2].stream = 3;
              masks[3].seed = 2;
              std::vector<Tensor> outs;
              for (size_t m = 0; m < masks.size() + 1; ++m) {
                outs.emplace_back(c.backend(), Shape{4000});
              }
              return {.op =
                          [=]() mutable {
                            for (size_t m = 0; m < masks.size(); ++m) {
                              Tensor view = outs[m].Reshape({100, 40});
                              ops::Dropout(masks[m], in, view);
                            }
                            ops::Dropout(base, flat, outs[4]);
                          },
                      .check =
                          [=] {
                            const std::vector<float> a = outs[0].ToHost();
                            EXPECT_EQ(a, outs[4].ToHost()) << "shape changed the mask";
                            for (size_t m = 1; m < masks.size(); ++m) {
                              EXPECT_NE(a, outs[m].ToHost()) << "mask " << m;
                            }
                          }};
            },
            .timed = false});
}

// dy -> dx through the same mask: the derivative of the reference forward, element by element.
void AddGradient() {
  Register({.name = "dropout/gradient", .family = "dropout", .gradient = [](Context& c) {
              const int64_t n = 300;
              const std::vector<float> x = c.Uniform(n, -2.0f, 2.0f);
              const DropoutMask mask{.rate = 0.3f, .seed = 9, .stream = 1, .step = 0};
              const std::vector<float> ones(n, 1.0f);
              Tensor dx(c.backend(), {n});
              ops::Dropout(mask, c.Make({n}, ones), dx);
              std::vector<double> numerical(n);
              for (int64_t i = 0; i < n; ++i) {
                // The reference forward in double: keep_i ? x_i / (1 - rate) : 0.
                const bool keep = testing::RefKeep(mask, static_cast<uint64_t>(i));
                numerical[i] = CentralDifference(
                    [&](double v) { return keep ? v / (1.0 - mask.rate) : 0.0; }, x[i]);
              }
              // 1 / (1 - rate) rounded to float: u relative.
              testing::ExpectClose(numerical, dx.ToHost(), 1e-7, 1e-9, "dx");
            }});
}

void AddValidation() {
  Register({.name = "dropout.validation", .family = "dropout", .validation = [](Context& c) {
              using testing::ExpectThrowsWith;
              const Tensor in(c.backend(), {4, 3});
              Tensor out(c.backend(), {4, 2});
              Tensor same(c.backend(), {4, 3});
              ExpectThrowsWith<std::invalid_argument>(
                  [&] { ops::Dropout({.rate = 0.5f}, in, out); },
                  {"Dropout", "in [4 x 3]", "out [4 x 2]"});
              ExpectThrowsWith<std::invalid_argument>(
                  [&] { ops::Dropout({.rate = 1.0f}, in, same); }, {"Dropout", "rate 1", "[0, 1)"});
            }});
}

const Registrar kCases([] {
  for (const float rate : {0.0f, 0.1f, 0.5f, 0.9f}) {
    for (const int64_t rows : kRows) AddDropout(rate, rows);
  }
  AddMaskIdentity();
  AddGradient();
  AddValidation();
});

}  // namespace
}  // namespace fanin::harness
