// SgdUpdate cases (tests/harness/harness.h): plain, momentum and Nesterov, one step from a
// random state (so the velocity's part shows), against the step's formula in double.
//
// Tolerance, u = 2^-24: every value of a step is a sum of at most the terms p, mu v, lr g, mu^2
// v and mu lr g, and a step is at most six float operations (or fewer FMAs), each rounding by u
// of a result bounded by S, the sum of those terms' magnitudes: 8 u S. lr and mu enter as the
// floats the op received. A wrong sign, a missing term or a velocity not written errs by lr |g|
// ~ 1e-2.
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "fanin/ops.h"
#include "tests/expect_error.h"
#include "tests/harness/harness.h"
#include "tests/test_util.h"

namespace fanin::harness {
namespace {

using testing::ExpectClose;
using testing::kFloatRoundoff;

void AddSgd(const char* variant, const SgdStep& step, int64_t rows) {
  Register({.name = std::string("sgd/") + variant + "/" + RowsName(rows),
            .family = "sgd",
            .value = [=](Context& c) -> Instance {
              const int64_t n = rows * 11;
              const std::vector<float> p0 = c.Uniform(n, -1.0f, 1.0f);
              const std::vector<float> g = c.Uniform(n, -1.0f, 1.0f);
              const std::vector<float> v0 = c.Uniform(n, -0.1f, 0.1f);
              Tensor p = c.Make({n}, p0), v = c.Make({n}, v0);
              const Tensor grads = c.Make({n}, g);
              const bool momentum = step.momentum != 0.0f;
              return {
                  .op = [=]() mutable { ops::SgdUpdate(step, p, grads, momentum ? &v : nullptr); },
                  .check =
                      [=] {
                        const double lr = step.learning_rate, mu = step.momentum;
                        std::vector<double> p1(n), v1(n), tolerance(n);
                        for (int64_t i = 0; i < n; ++i) {
                          if (!momentum) {
                            p1[i] = p0[i] - lr * g[i];
                          } else {
                            v1[i] = mu * v0[i] - lr * g[i];
                            p1[i] = step.nesterov ? p0[i] + mu * v1[i] - lr * g[i] : p0[i] + v1[i];
                          }
                          const double terms = std::fabs(mu * v0[i]) + std::fabs(lr * g[i]);
                          tolerance[i] = 8 * kFloatRoundoff * (std::fabs(p0[i]) + (1 + mu) * terms);
                        }
                        const auto within = [&](size_t i) { return tolerance[i]; };
                        ExpectClose(p1, p.ToHost(), within, "params");
                        if (momentum) ExpectClose(v1, v.ToHost(), within, "velocity");
                      }};
            }});
}

void AddValidation() {
  Register({.name = "sgd.validation", .family = "sgd", .validation = [](Context& c) {
              using testing::ExpectThrowsWith;
              Tensor p(c.backend(), {5}), g(c.backend(), {4}), v(c.backend(), {5});
              ExpectThrowsWith<std::invalid_argument>(
                  [&] { ops::SgdUpdate({.momentum = 0.9f}, p, v, nullptr); },
                  {"SgdUpdate", "momentum needs a velocity"});
              ExpectThrowsWith<std::invalid_argument>([&] { ops::SgdUpdate({}, p, g, nullptr); },
                                                      {"SgdUpdate", "params [5]", "grads [4]"});
              ExpectThrowsWith<std::invalid_argument>(
                  [&] { ops::SgdUpdate({.momentum = 0.9f}, p, v, &g); },
                  {"SgdUpdate", "velocity [4]"});
            }});
}

const Registrar kCases([] {
  for (const int64_t rows : kRows) {
    AddSgd("plain", {.learning_rate = 0.1f}, rows);
    AddSgd("momentum", {.learning_rate = 0.1f, .momentum = 0.9f}, rows);
    AddSgd("nesterov", {.learning_rate = 0.1f, .momentum = 0.9f, .nesterov = true}, rows);
  }
  AddValidation();
});

}  // namespace
}  // namespace fanin::harness
