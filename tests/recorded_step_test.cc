// Sequential::RecordTrainStep: a recorded step replayed N times is the same training as N
// calls of TrainStep (on the CPU, bit for bit: a replay calls the same functions), and the
// cases it cannot record are refused with a reason.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "fanin/fanin.h"
#include "record_rule.h"
#include "test_util.h"

namespace fanin {
namespace {

using testing::Cpu;

Sequential SmallModel(Optimizer optimizer) {
  Sequential model(Cpu(2));
  model.Add(Dense(16, "tanh"));
  model.Add(Dense(16, "relu", "he_normal"));
  model.Add(Dense(1));
  model.Compile(BinaryCrossEntropy{}, optimizer);
  model.Build(10, 3);
  return model;
}

TEST(RecordTest, RecordingKeepsItsClosureAlive) {
  testing::ExpectRecordingKeepsItsClosureAlive(*Cpu());
}

TEST(RecordedTrainStepTest, ReplaysEqualTrainSteps) {
  const Dataset data = Ball(10, 256, 0.5, 7);
  // Momentum and an L2 penalty: the update's velocity and penalty calls are recorded too.
  const Sgd sgd{.learning_rate = 0.1f, .momentum = 0.9f, .penalty = {.l2 = 1e-3f}};
  Sequential stepped = SmallModel(sgd);
  for (int i = 0; i < 5; ++i) stepped.TrainStep(data.x, data.y);

  Sequential recorded = SmallModel(sgd);
  RecordedTrainStep step = recorded.RecordTrainStep(data.x, data.y);
  EXPECT_EQ(recorded.steps_taken(), 0) << "recording must not take a step";
  Sequential moved = std::move(recorded);  // the recording follows the model's state
  for (int i = 0; i < 5; ++i) step.Run();
  EXPECT_EQ(moved.steps_taken(), 5);
  EXPECT_EQ(moved.parameters().ToHost(), stepped.parameters().ToHost());
}

// An Evaluate on a larger batch enlarges the layers' buffers: a replay would write the old
// ones (freed memory, on a GPU), so Run refuses until the step is recorded again.
TEST(RecordedTrainStepTest, RefusesToReplayAfterTheBuffersMoved) {
  const Dataset small = Ball(10, 64, 0.5, 7);
  const Dataset large = Ball(10, 4096, 0.5, 8);
  Sequential model = SmallModel(Sgd{});
  RecordedTrainStep step = model.RecordTrainStep(small.x, small.y);
  step.Run();
  model.Evaluate(small.x, small.y);  // same rows: the buffers stay
  step.Run();
  model.Evaluate(large.x, large.y);
  try {
    step.Run();
    FAIL() << "no exception";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("record"), std::string::npos) << e.what();
  }
  EXPECT_EQ(model.steps_taken(), 2) << "a refused Run must not count a step";
  step = model.RecordTrainStep(small.x, small.y);
  step.Run();
  EXPECT_EQ(model.steps_taken(), 3);
}

TEST(RecordedTrainStepTest, RefusesAdamAndHooks) {
  const Dataset data = Ball(10, 32, 0.5, 7);
  Sequential adam = SmallModel(Adam{});
  try {
    adam.RecordTrainStep(data.x, data.y);
    FAIL() << "no exception";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("Adam"), std::string::npos) << e.what();
  }
  Sequential hooked = SmallModel(Sgd{});
  hooked.AddHook(std::make_shared<LayerCallbackHook>(
      StepSchedule{}, std::nullopt, [](const StepContext&, size_t, const LayerTensors&) {}));
  try {
    hooked.RecordTrainStep(data.x, data.y);
    FAIL() << "no exception";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("hook"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace fanin
