// The op harness (issue 13), in the spirit of ggml's test-backend-ops: each op folder registers
// its cases (ops/<op>/test.cc) against its own double-precision reference (ops/<op>/reference.h),
// and every case runs on every backend fanin can build, in three modes:
//   Value       the op's outputs against the reference, within a tolerance each case derives;
//   Gradient    an op's gradient against central finite differences of the reference forward;
//   Validation  the error an op gives for bad arguments, naming what is wrong;
// plus a perf mode, fanin_op_bench, that times the Value cases' op calls. fanin_op_tests lists
// them as `<Mode>.<case>/<backend>`; a backend this machine lacks skips with the reason.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "fanin/fanin.h"

namespace fanin::harness {

// A backend the cases run on: a device of MakeBackend with its options. The CUDA variants exist
// because their options select other implementations (cuBLAS with TF32 inputs, cuDNN's
// activations), so each is checked against the reference in its own right.
struct Target {
  std::string name;  // in test names: "cpu", "cuda", "cuda_tf32", "cuda_cudnn"
  std::string device;
  BackendOptions options;
  // The op families the target changes (empty: every family); the others would only repeat
  // the plain target's runs.
  std::vector<std::string> families;
  // Relative rounding of GEMM inputs before they are multiplied: 0 in FP32, 2^-10 in TF32 (10
  // explicit mantissa bits, whether rounded or truncated).
  double gemm_input_rounding = 0.0;
};

const std::vector<Target>& Targets();
// Empty when `target` can run here, else why not ("no CUDA GPU is visible").
std::string Unavailable(const Target& target);

// What a case body gets: the backend and its target, and the case's inputs as a deterministic
// function of the case's name only (std::mt19937 streams, independent of fanin's Philox
// generator, so a bug there cannot hide in the inputs): every backend sees the same values.
class Context {
 public:
  Context(const Target& target, std::shared_ptr<Backend> backend, uint32_t seed);

  const Target& target() const { return target_; }
  const std::shared_ptr<Backend>& backend() const { return backend_; }

  // The next n values of U(lo, hi), each call from a fresh seed of the case's sequence.
  std::vector<float> Uniform(int64_t n, float lo, float hi);
  // `values` on the backend.
  Tensor Make(Shape shape, const std::vector<float>& values) const;

 private:
  const Target& target_;
  std::shared_ptr<Backend> backend_;
  std::mt19937 seeds_;
};

// One run of a Value case on one backend: `op` enqueues the op once (the perf mode times it,
// repeatedly), `check` compares what the first call produced with the reference.
struct Instance {
  std::function<void()> op;
  std::function<void()> check;
};

struct OpCase {
  std::string name;    // "activation.backward/tanh/bias_grad/cols=33/rows=1000"
  std::string family;  // the op folder: "activation"
  std::function<Instance(Context&)> value;   // inputs made, outputs allocated, not yet run
  std::function<void(Context&)> gradient;    // empty: no Gradient test
  std::function<void(Context&)> validation;  // empty: no Validation test
  // Whether the perf mode times `value`'s op: not for a case that checks a rule over a few
  // elements (the NaN rule) rather than a workload.
  bool timed = true;
};

// Adds a case; the op folders' test.cc call it from static initializers (Registrar).
void Register(OpCase op_case);
const std::vector<OpCase>& Cases();

// Registers each case at its file's static initialization: `const Registrar kCases([] { ... });`.
struct Registrar {
  explicit Registrar(const std::function<void()>& register_cases) { register_cases(); }
};

// Whether `op_case` runs on `target` (the target's families).
bool RunsOn(const Target& target, const OpCase& op_case);
// The context of `op_case` on `target`, which must be available: the target's backend (one
// per target and process) and the case's seed.
Context ContextFor(const Target& target, const OpCase& op_case);

// The GoogleTest tests: one per case, mode and target (call before RUN_ALL_TESTS).
void RegisterGoogleTests();

// ---- Shapes ---------------------------------------------------------------------------------

// The batch sizes every op that takes a batch runs: empty, one row, less than a vector or a
// warp, just over a warp (33 = 32 + 1: no vector width or block size divides it), many blocks.
inline constexpr int64_t kRows[] = {0, 1, 7, 33, 1000};
std::string RowsName(int64_t rows);  // "rows=33"

// ---- Gradients --------------------------------------------------------------------------------

// d f / d x by the central difference (f(x + h) - f(x - h)) / 2h in double, h = 1e-5: the
// truncation error is h^2/6 |f'''| ~ 2e-11 |f'''| and the rounding error ~ 2^-53 |f| / h
// ~ 1e-11 |f|, so for the O(1) references here the difference is exact to ~1e-10, four orders
// below the float rounding of the gradients it checks. An input within h of a kink (relu at 0)
// has no derivative; the cases keep their inputs away from kinks by more than h.
inline constexpr double kFiniteDifferenceStep = 1e-5;
double CentralDifference(const std::function<double(double)>& f, double x);

// Keeps every value at least `margin` away from each of `kinks` (moved outward), so that a
// finite difference never straddles one.
std::vector<float> AwayFrom(std::vector<float> values, const std::vector<float>& kinks,
                            float margin);

}  // namespace fanin::harness
