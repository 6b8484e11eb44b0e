// The composed defaults of the Backend interface (include/fanin/backend.h).
#include "fanin/backend.h"

#include <utility>

namespace fanin {

void Backend::DenseForward(const Tensor& x, const Tensor& w, const Tensor& bias, Activation act,
                           Tensor& z, Tensor& a) {
  Gemm(x, false, w, false, 1.0f, 0.0f, z);
  BiasActivationForward(act, bias, z, a);
}

namespace {

// Without graphs, a replay is the work itself, called again.
class RerunWork final : public RecordedWork {
 public:
  explicit RerunWork(std::function<void()> work) : work_(std::move(work)) {}
  void Replay() override { work_(); }

 private:
  std::function<void()> work_;
};

}  // namespace

std::unique_ptr<RecordedWork> Backend::Record(std::function<void()> work) {
  return std::make_unique<RerunWork>(std::move(work));
}

}  // namespace fanin
