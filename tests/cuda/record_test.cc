// Backend::Record on the GPU (a CUDA graph): what the graph addresses stays its own for as
// long as it lives, and the calls that cannot be recorded are refused with a reason.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "../record_rule.h"
#include "cuda_test_util.h"
#include "fanin/ops.h"

namespace fanin::testing {
namespace {

using CudaRecordTest = CudaTest;

TEST_F(CudaRecordTest, RecordingKeepsItsClosureAlive) {
  ExpectRecordingKeepsItsClosureAlive(*gpu_);
}

// 1000 rows: the bias gradient is reduced in 4 chunks through a scratch block of 4 x 33
// floats (the 1024-byte size class). The graph writes that block on every replay, so a
// tensor of the same size class allocated after the recording must not be given it.
TEST_F(CudaRecordTest, ScratchOfARecordingIsNeverHandedOut) {
  const int64_t rows = 1000, cols = 33;
  const Tensor z = Tensor::FromHost(gpu_, {rows, cols}, RandomFloats(rows * cols, -2, 2, 1));
  const Tensor da = Tensor::FromHost(gpu_, {rows, cols}, RandomFloats(rows * cols, -1, 1, 2));
  Tensor dz(gpu_, {rows, cols}), bias_grad(gpu_, {cols});
  auto work =
      gpu_->Record([&] { ops::ActivationBackward(Activation::kTanh, z, z, da, dz, &bias_grad); });
  const std::vector<float> sevens(200, 7.0f);
  const Tensor other = Tensor::FromHost(gpu_, {200}, sevens);  // another model's totals
  for (int i = 0; i < 3; ++i) work->Replay();
  EXPECT_EQ(other.ToHost(), sevens) << "a replay wrote into a tensor allocated after recording";
  Tensor expected_grad(gpu_, {cols});
  Tensor expected_dz(gpu_, {rows, cols});
  ops::ActivationBackward(Activation::kTanh, z, z, da, expected_dz, &expected_grad);
  EXPECT_EQ(bias_grad.ToHost(), expected_grad.ToHost());
}

// Uploads go through a staging ring that later uploads refill, and waits cannot be captured:
// each is refused by name, and the backend works normally afterwards.
TEST_F(CudaRecordTest, UploadsAndWaitsAreRefusedWhileRecording) {
  Tensor t(gpu_, {4});
  const std::vector<float> host = {1, 2, 3, 4};
  const Tensor src = Tensor::FromHost(gpu_, {4, 1}, host);
  Tensor dst(gpu_, {2, 1});
  const std::vector<int64_t> indices = {3, 0};
  struct Case {
    const char* op;
    std::function<void()> call;
  };
  const Case cases[] = {
      {"CopyFromHost", [&] { gpu_->CopyFromHost(host.data(), t.data(), 4); }},
      {"GatherRows", [&] { ops::GatherRows(src, indices, dst); }},
      {"CopyToHost", [&] { t.ToHost(); }},
      {"Synchronize", [&] { gpu_->Synchronize(); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.op);
    try {
      gpu_->Record(c.call);
      ADD_FAILURE() << "no exception";
    } catch (const std::logic_error& e) {
      EXPECT_NE(std::string(e.what()).find(c.op), std::string::npos) << e.what();
    }
  }
  ops::GatherRows(src, indices, dst);
  EXPECT_EQ(dst.ToHost(), (std::vector<float>{4, 1}));
}

// Two models recorded on one backend: each replays its own step, and neither disturbs the
// other's buffers (the first defect of issue 11 hit a second model's step totals).
TEST_F(CudaRecordTest, TwoRecordedModelsTrainLikeTrainStep) {
  const Dataset data = Ball(10, 512, 0.5, 3);
  auto build = [&](uint64_t seed) {
    Sequential model(gpu_);
    model.Add(Dense(64, "tanh"));
    model.Add(Dense(1));
    model.Compile(BinaryCrossEntropy{}, Sgd{.learning_rate = 0.1f});
    model.Build(10, seed);
    return model;
  };
  const Tensor x = data.x.To(gpu_), y = data.y.To(gpu_);
  Sequential a = build(1), b = build(2), a_ref = build(1), b_ref = build(2);
  RecordedTrainStep step_a = a.RecordTrainStep(x, y);
  RecordedTrainStep step_b = b.RecordTrainStep(x, y);
  for (int i = 0; i < 4; ++i) {
    step_a.Run();
    step_b.Run();
    a_ref.TrainStep(x, y);
    b_ref.TrainStep(x, y);
  }
  EXPECT_EQ(a.parameters().ToHost(), a_ref.parameters().ToHost());
  EXPECT_EQ(b.parameters().ToHost(), b_ref.parameters().ToHost());
}

}  // namespace
}  // namespace fanin::testing
