// What Backend::Record promises on every backend, as one case that each backend's tests run
// (tests/recorded_step_test.cc on the CPU, tests/cuda/record_test.cc on the GPU).
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "fanin/backend.h"

namespace fanin::testing {

// The recorded work keeps what the recorded closure holds (the tensors a replay reads and
// writes) until the work itself is destroyed.
inline void ExpectRecordingKeepsItsClosureAlive(Backend& backend) {
  auto token = std::make_shared<int>(0);
  const std::weak_ptr<int> watch = token;
  std::unique_ptr<RecordedWork> work = backend.Record([token] {});
  token.reset();
  EXPECT_FALSE(watch.expired()) << backend.name() << ": the recording dropped its closure";
  work->Replay();
  backend.Synchronize();
  work.reset();
  EXPECT_TRUE(watch.expired()) << backend.name() << ": the closure outlived its recording";
}

}  // namespace fanin::testing
