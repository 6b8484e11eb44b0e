#include "tests/harness/harness.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "tests/test_util.h"

namespace fanin::harness {
namespace {

std::vector<OpCase>& MutableCases() {
  static std::vector<OpCase> cases;
  return cases;
}

// FNV-1a of the case's name: a seed that stays with the case when other cases are added.
uint32_t SeedOf(std::string_view name) {
  uint32_t hash = 2166136261u;
  for (const char c : name) hash = (hash ^ static_cast<unsigned char>(c)) * 16777619u;
  return hash;
}

// One backend per target and process: the CUDA ones load cuBLAS and cuDNN when made.
const std::shared_ptr<Backend>& BackendFor(const Target& target) {
  static std::map<std::string, std::shared_ptr<Backend>> backends;
  std::shared_ptr<Backend>& backend = backends[target.name];
  if (!backend) backend = MakeBackend(target.device, target.options);
  return backend;
}

class HarnessTest : public ::testing::Test {
 public:
  explicit HarnessTest(std::function<void()> body) : body_(std::move(body)) {}
  void TestBody() override { body_(); }

 private:
  std::function<void()> body_;
};

// Registers `mode`.<case>/<target> running `body` when the target is available here.
void RegisterMode(const char* mode, const OpCase& op_case, const Target& target,
                  std::function<void(Context&)> body) {
  const std::string name = op_case.name + "/" + target.name;
  ::testing::RegisterTest(mode, name.c_str(), nullptr, nullptr, __FILE__, __LINE__,
                          [&target, &op_case, body = std::move(body)]() -> ::testing::Test* {
                            return new HarnessTest([&target, &op_case, body] {
                              const std::string why = Unavailable(target);
                              if (!why.empty()) GTEST_SKIP() << why;
                              Context context = ContextFor(target, op_case);
                              body(context);
                            });
                          });
}

}  // namespace

const std::vector<Target>& Targets() {
  static const std::vector<Target> targets = {
      {.name = "cpu", .device = "cpu", .options = {.num_threads = 2}},
      {.name = "cuda", .device = "cuda"},
      {.name = "cuda_tf32",
       .device = "cuda",
       .options = {.allow_tf32 = true},
       .families = {"gemm", "dense"},
       .gemm_input_rounding = 0x1p-10},
      {.name = "cuda_cudnn",
       .device = "cuda",
       .options = {.cudnn_activations = true, .cudnn_batch_norm = true},
       .families = {"activation", "batch_norm"}},
  };
  return targets;
}

std::string Unavailable(const Target& target) {
  return target.device == "cuda" ? CudaUnavailableReason() : "";
}

Context::Context(const Target& target, std::shared_ptr<Backend> backend, uint32_t seed)
    : target_(target), backend_(std::move(backend)), seeds_(seed) {}

std::vector<float> Context::Uniform(int64_t n, float lo, float hi) {
  return testing::RandomFloats(static_cast<size_t>(n), lo, hi, seeds_());
}

Tensor Context::Make(Shape shape, const std::vector<float>& values) const {
  return testing::MakeTensor(backend_, std::move(shape), values);
}

bool RunsOn(const Target& target, const OpCase& op_case) {
  return target.families.empty() ||
         std::ranges::find(target.families, op_case.family) != target.families.end();
}

Context ContextFor(const Target& target, const OpCase& op_case) {
  return Context(target, BackendFor(target), SeedOf(op_case.name));
}

void Register(OpCase op_case) { MutableCases().push_back(std::move(op_case)); }

const std::vector<OpCase>& Cases() { return MutableCases(); }

void RegisterGoogleTests() {
  for (const OpCase& op_case : Cases()) {
    for (const Target& target : Targets()) {
      if (!RunsOn(target, op_case)) continue;
      if (op_case.value) {
        RegisterMode("Value", op_case, target, [make = op_case.value](Context& context) {
          const Instance instance = make(context);
          instance.op();
          instance.check();
        });
      }
      if (op_case.gradient) RegisterMode("Gradient", op_case, target, op_case.gradient);
      if (op_case.validation) RegisterMode("Validation", op_case, target, op_case.validation);
    }
  }
}

std::string RowsName(int64_t rows) { return "rows=" + std::to_string(rows); }

double CentralDifference(const std::function<double(double)>& f, double x) {
  const double h = kFiniteDifferenceStep;
  return (f(x + h) - f(x - h)) / (2 * h);
}

std::vector<float> AwayFrom(std::vector<float> values, const std::vector<float>& kinks,
                            float margin) {
  for (float& v : values) {
    for (const float kink : kinks) {
      if (std::fabs(v - kink) < margin) v = v < kink ? kink - margin : kink + margin;
    }
  }
  return values;
}

}  // namespace fanin::harness
