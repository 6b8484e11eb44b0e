// The default recording of the Backend interface (include/fanin/backend.h).
#include "fanin/backend.h"

#include <utility>

namespace fanin {

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
