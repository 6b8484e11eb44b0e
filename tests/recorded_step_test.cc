// Sequential::RecordTrainStep: a recorded step replayed N times is the same training as N
// calls of TrainStep (on the CPU, bit for bit: a replay calls the same functions), and the
// cases it cannot record are refused with a reason.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "fanin/fanin.h"
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
