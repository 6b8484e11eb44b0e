// Whole training runs: the BLOCK model on the ball data on both backends, run-to-run
// determinism on the GPU, and cuDNN's activations against fanin's own kernels.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "cuda_test_util.h"
#include "fanin/ops.h"

namespace fanin::testing {
namespace {

using CudaTrainingTest = CudaTest;

// The BLOCK model of the initializer study: five Dense(100, tanh, glorot_normal), a
// Dense(1) on logits, sigmoid + binary cross-entropy, SGD with learning rate 0.01.
Sequential BlockModel(std::shared_ptr<Backend> backend) {
  Sequential model(std::move(backend));
  for (int i = 0; i < 5; ++i) model.Add(Dense(100, "tanh", "glorot_normal"));
  model.Add(Dense(1));
  model.Compile(BinaryCrossEntropy{}, Sgd{.learning_rate = 0.01f});
  model.Build(10, 42);
  return model;
}

struct TrainingRun {
  std::vector<double> losses;
  std::vector<float> parameters;
};

TrainingRun Train(const std::shared_ptr<Backend>& backend, const FitOptions& options) {
  const Dataset data = Ball();
  Sequential model = BlockModel(backend);
  EXPECT_EQ(model.backend().name(), backend->name());
  TrainingRun run;
  for (const EpochLogs& logs : model.Fit(data.x, data.y, options).epochs) {
    run.losses.push_back(logs.loss);
  }
  run.parameters = model.parameters().ToHost();
  return run;
}

// 10 full-batch steps. The initial weights are the same bits; each step's GEMMs sum in
// another order (a relative 1e-7 difference per dot product), which the loss inherits
// without amplification over 10 small steps: 1e-5 relative is a hundredfold margin.
TEST_F(CudaTrainingTest, BlockModelLossesMatchCpu) {
  const FitOptions full_batch{.epochs = 10, .batch_size = FitOptions::kFullBatch, .shuffle = false};
  const TrainingRun cpu = Train(cpu_, full_batch);
  const TrainingRun gpu = Train(gpu_, full_batch);
  ASSERT_EQ(gpu.losses.size(), 10u);
  for (size_t epoch = 0; epoch < cpu.losses.size(); ++epoch) {
    EXPECT_NEAR(gpu.losses[epoch], cpu.losses[epoch], 1e-5 * cpu.losses[epoch])
        << "epoch " << epoch;
  }
  // The weights moved by 10 steps of lr 0.01 |grad|; their difference is that much smaller.
  ExpectClose(cpu.parameters, gpu.parameters, 1e-5, 1e-6, "parameters after 10 steps");
}

// Two runs on two fresh GPU backends, with shuffled mini-batches (GatherRows, a partial
// last batch): no atomics anywhere, so the same bits. Also the short run the sanitizers
// check in tools/gpu-check.sh.
TEST_F(CudaTrainingTest, TwoGpuRunsAreBitIdentical) {
  const FitOptions options{.epochs = 2, .batch_size = 96, .shuffle = true, .shuffle_seed = 7};
  const TrainingRun first = Train(gpu_, options);
  const TrainingRun second = Train(MakeBackend("cuda"), options);
  EXPECT_EQ(first.losses, second.losses);
  ExpectBitIdentical(first.parameters, second.parameters, "parameters of two GPU runs");
}

// cuDNN's sigmoid, tanh and relu against fanin's kernels, on the GPU. cuDNN's arithmetic
// is not documented: its forward may use faster exponentials than expf, so 1e-5 relative
// (about 170 u). Its backward, like ours, reads act' from a: the forward's difference
// passes through |d act' / d a| <= 2 (|a| <= 1), so 2e-5 |da|, plus 2 u |dz| for an FMA.
// Both bias gradients come from fanin's column reduction, in the same order: only the dz
// differences add up.
TEST_F(CudaTrainingTest, CudnnActivationsMatchOwnKernels) {
  const auto cudnn = MakeBackend("cuda", BackendOptions{.cudnn_activations = true});
  const int64_t rows = 1000, cols = 100;
  const std::vector<float> z = RandomFloats(rows * cols, -6.0f, 6.0f, 71);
  const std::vector<float> bias = RandomFloats(cols, -1.0f, 1.0f, 72);
  const std::vector<float> da = RandomFloats(rows * cols, -1.0f, 1.0f, 73);
  for (const Activation act : {Activation::kSigmoid, Activation::kTanh, Activation::kRelu}) {
    SCOPED_TRACE(std::string(ActivationName(act)));
    std::vector<float> a[2], dz[2], db[2];
    int i = 0;
    for (const auto& backend : {gpu_, cudnn}) {
      Tensor tz = Tensor::FromHost(backend, {rows, cols}, z);
      Tensor tb = Tensor::FromHost(backend, {cols}, bias);
      Tensor ta(backend, {rows, cols});
      ops::BiasActivationForward(act, tb, tz, ta);
      Tensor tda = Tensor::FromHost(backend, {rows, cols}, da);
      Tensor tdz(backend, {rows, cols}), tdb(backend, {cols});
      ops::ActivationBackward(act, tz, ta, tda, tdz, &tdb);
      a[i] = ta.ToHost();
      dz[i] = tdz.ToHost();
      db[i++] = tdb.ToHost();
    }
    ExpectClose(a[0], a[1], 1e-5, 1e-37, "forward");
    const auto dz_tolerance = [&](size_t k) {
      return 2e-5 * std::fabs(da[k]) + 2 * kFloatRoundoff * std::fabs(dz[0][k]);
    };
    ExpectClose(dz[0], dz[1], dz_tolerance, "backward");
    ExpectClose(
        db[0], db[1],
        [&](size_t c) {
          double tolerance = 0.0;
          for (int64_t r = 0; r < rows; ++r) tolerance += dz_tolerance(r * cols + c);
          return tolerance;
        },
        "bias gradient");
  }
}

// The BLOCK model trained with cuDNN's activations: the same losses as with fanin's.
TEST_F(CudaTrainingTest, CudnnBlockModelTrainsLikeOwnKernels) {
  const FitOptions full_batch{.epochs = 10, .batch_size = FitOptions::kFullBatch, .shuffle = false};
  const TrainingRun own = Train(gpu_, full_batch);
  const TrainingRun cudnn =
      Train(MakeBackend("cuda", BackendOptions{.cudnn_activations = true}), full_batch);
  for (size_t epoch = 0; epoch < own.losses.size(); ++epoch) {
    EXPECT_NEAR(cudnn.losses[epoch], own.losses[epoch], 1e-5 * own.losses[epoch])
        << "epoch " << epoch;
  }
}

// RecordTrainStep on the GPU: 10 replays of the CUDA graph train the BLOCK model as 10
// TrainStep calls do. The graph holds the same kernels with the same arguments in the same
// order; cuBLAS may pick another algorithm under capture, hence a tolerance, the one that
// the CPU comparison above derives.
TEST_F(CudaTrainingTest, RecordedStepTrainsLikeTrainStep) {
  const Dataset data = Ball();
  const Tensor x = data.x.To(gpu_), y = data.y.To(gpu_);
  Sequential stepped = BlockModel(gpu_);
  for (int i = 0; i < 10; ++i) stepped.TrainStep(x, y);
  Sequential replayed = BlockModel(gpu_);
  RecordedTrainStep step = replayed.RecordTrainStep(x, y);
  for (int i = 0; i < 10; ++i) step.Run();
  EXPECT_EQ(replayed.steps_taken(), 10);
  ExpectClose(stepped.parameters().ToHost(), replayed.parameters().ToHost(), 1e-5, 1e-6,
              "parameters after 10 steps");
}

}  // namespace
}  // namespace fanin::testing
