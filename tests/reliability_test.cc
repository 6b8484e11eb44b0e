// Tests of the training guarantees of docs/reliability.md: the opt-in NaN/Inf guard, a BCE
// that stays finite, gradients applied unclipped, bit-identical training across thread
// counts and runs, and error messages that say what to fix.

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "fanin/fanin.h"
#include "tests/expect_error.h"
#include "tests/test_util.h"

namespace fanin {
namespace {

using testing::Cpu;
using testing::MakeTensor;

using testing::ErrorOf;

Sequential TwoLayers(Optimizer optimizer, std::string_view kernel = "glorot_uniform",
                     int threads = 2, int64_t inputs = 2) {
  Sequential model(Cpu(threads));
  model.Add(Dense(4, "tanh", kernel));
  model.Add(Dense(1));
  model.Compile(BinaryCrossEntropy{}, optimizer);
  model.Build(inputs, 3);
  return model;
}

TEST(NanGuardTest, StopsAtTheFirstNonFiniteTensorNamingStepLayerAndTensor) {
  // 1e30 * 1e10 overflows float: layer 0's z is infinite on the very first step.
  Sequential model = TwoLayers(Sgd{}, "constant(1e10)");
  const Tensor x = MakeTensor(Cpu(), {2, 2}, {1e30f, 1.0f, -1.0f, 2.0f});
  const Tensor y = MakeTensor(Cpu(), {2, 1}, {1, 0});
  const std::vector<float> before = model.parameters().ToHost();
  const std::string error = ErrorOf([&] {
    model.Fit(x, y,
              {.epochs = 1,
               .batch_size = FitOptions::kFullBatch,
               .shuffle = false,
               .check_finite = true});
  });
  EXPECT_CONTAINS(error,
                  "Fit: non-finite values at step 1 (epoch 0, batch 0): layer 0 Dense(4, "
                  "tanh, kernel=constant(1e+10)) z has 0 NaN and 4 infinite of 8 values");
  EXPECT_EQ(model.parameters().ToHost(), before) << "the bad step must not be applied";
  EXPECT_EQ(model.steps_taken(), 0);
}

TEST(NanGuardTest, CatchesDivergenceAtTheStepItHappens) {
  // A learning rate this large saturates the tanh units at once; the logits then grow
  // until the loss overflows, at step 3 for these seeds.
  Sequential model = TwoLayers(Sgd{.learning_rate = 1e38f});
  const Dataset data = Ball(2, 32, 0.5, 1);
  const std::string error = ErrorOf(
      [&] { model.Fit(data.x, data.y, {.epochs = 3, .batch_size = 16, .check_finite = true}); });
  EXPECT_CONTAINS(error,
                  "non-finite values at step 3 (epoch 1, batch 0): the loss has 0 NaN "
                  "and 1 infinite of 1 values");
  EXPECT_EQ(model.steps_taken(), 2);
  // Off by default: the same run goes on without a word.
  Sequential unguarded = TwoLayers(Sgd{.learning_rate = 1e38f});
  EXPECT_NO_THROW(unguarded.Fit(data.x, data.y, {.epochs = 3, .batch_size = 16}));
}

TEST(NumericsTest, BinaryCrossEntropyIsFiniteForEveryFiniteLogit) {
  const std::shared_ptr<Backend> cpu = Cpu();
  const std::vector<float> logits = {FLT_MAX, -FLT_MAX, 1e30f,   -1e30f,       88.8f,
                                     -88.8f,  0.0f,     FLT_MIN, -FLT_TRUE_MIN};
  for (const float label : {0.0f, 1.0f}) {
    for (const float z : logits) {
      const Tensor output = MakeTensor(cpu, {1, 1}, {z});
      const Tensor labels = MakeTensor(cpu, {1, 1}, {label});
      Tensor grad(cpu, {1, 1});
      Tensor totals(cpu, {2});
      ops::BinaryCrossEntropy(BceInput::kLogits, 0.0f, output, labels, 1.0f, &grad, totals, 0);
      EXPECT_TRUE(std::isfinite(totals.ToHost()[0])) << "z " << z << " y " << label;
      EXPECT_TRUE(std::isfinite(grad.ToHost()[0])) << "z " << z << " y " << label;
    }
  }
}

TEST(NumericsTest, GradientsAreAppliedUnclipped) {
  // Huge inputs to a linear logit make huge gradients; plain SGD must move by exactly -lr * g.
  Sequential model(Cpu());
  // Both samples confidently wrong (z = 1e4 and 6e4 for label 0), so nothing saturates.
  model.Add(Dense(1, "linear", "constant(1)"));
  model.Compile(BinaryCrossEntropy{}, Sgd{.learning_rate = 1.0f});
  model.Build(2, 3);
  const Tensor x = MakeTensor(Cpu(), {2, 2}, {3e4f, -2e4f, 1e4f, 5e4f});
  const Tensor y = MakeTensor(Cpu(), {2, 1}, {0, 0});
  const std::vector<float> before = model.parameters().ToHost();
  model.ComputeGradients(x, y);
  const std::vector<float> grads = model.gradients().ToHost();
  model.ApplyGradients();
  const std::vector<float> after = model.parameters().ToHost();
  float largest = 0.0f;
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(after[i], before[i] - grads[i]) << i;
    largest = std::max(largest, std::fabs(grads[i]));
  }
  EXPECT_GT(largest, 100.0f) << "the test needs gradients that a clip would have cut";
}

// Several epochs of a model wide enough for oneDNN to split its GEMMs over both threads.
std::vector<float> TrainedWeights(int threads) {
  static const Dataset data = Ball(10, 512, 0.5, 2);
  Sequential model(Cpu(threads));
  model.Add(Dense(256, "relu", "he_normal"));
  model.Add(Dense(256, "tanh"));
  model.Add(Dense(1));
  model.Compile(BinaryCrossEntropy{}, Adam{.learning_rate = 0.01f});
  model.Build(10, 11);
  model.Fit(data.x, data.y, {.epochs = 5, .batch_size = 256, .shuffle_seed = 6});
  return model.parameters().ToHost();
}

TEST(DeterminismTest, SameWeightsBitForBitWithOneAndTwoThreadsAndAcrossRuns) {
  const std::vector<float> one = TrainedWeights(1);
  const std::vector<float> two = TrainedWeights(2);
  ASSERT_EQ(one.size(), two.size());
  size_t differing = 0;
  for (size_t i = 0; i < one.size(); ++i) differing += one[i] != two[i];
  EXPECT_EQ(differing, 0u) << "of " << one.size() << " weights";
  EXPECT_EQ(TrainedWeights(2), two);
}

TEST(ErrorMessageTest, FitSaysWhatToFix) {
  Sequential model = TwoLayers(Sgd{});
  const Tensor x = MakeTensor(Cpu(), {2, 2}, {1, 2, 3, 4});
  const Tensor y = MakeTensor(Cpu(), {2, 1}, {1, 0});
  const Tensor empty_x(Cpu(), {0, 2});
  const Tensor empty_y(Cpu(), {0, 1});
  EXPECT_CONTAINS(ErrorOf([&] { model.Fit(empty_x, empty_y); }),
                  "Fit: the data set is empty (x has shape [0 x 2]); pass at least one sample");
  EXPECT_CONTAINS(ErrorOf([&] { model.Fit(x, y, {.batch_size = 0}); }),
                  "Fit: batch_size is 0; pass a positive size, or FitOptions::kFullBatch for "
                  "the whole data set");
  EXPECT_CONTAINS(ErrorOf([&] { model.Fit(x, y, {.batch_size = -2}); }),
                  "Fit: batch_size is -2; pass a positive size");
  EXPECT_CONTAINS(ErrorOf([&] { model.Fit(x, y, {.epochs = 2, .initial_epoch = 3}); }),
                  "Fit: initial_epoch 3 is outside [0, epochs = 2]");
  EXPECT_CONTAINS(ErrorOf([&] {
                    model.Fit(x, MakeTensor(Cpu(), {2, 1}, {1, 2}));
                  }),
                  "Fit: y[1, 0] = 2; binary cross-entropy needs labels in [0, 1]");
  EXPECT_CONTAINS(ErrorOf([&] {
                    model.Fit(x, MakeTensor(Cpu(), {2, 1}, {-1, 0}));
                  }),
                  "Fit: y[0, 0] = -1; binary cross-entropy needs labels in [0, 1]");
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_CONTAINS(ErrorOf([&] {
                    model.Fit(MakeTensor(Cpu(), {2, 2}, {1, nan, 3, 4}), y);
                  }),
                  "Fit: x contains 1 NaN and 0 infinite values");
  EXPECT_CONTAINS(ErrorOf([&] {
                    model.Fit(MakeTensor(Cpu(), {2, 3}, {1, 2, 3, 4, 5, 6}), y);
                  }),
                  "Fit: x has shape [2 x 3], but layer 0 Dense(4, tanh, kernel=glorot_uniform) "
                  "expects [n x 2]");
  // A layer called directly names itself and both shapes.
  EXPECT_CONTAINS(ErrorOf([&] { model.layer(1).Forward(x); }),
                  "Dense(1, linear, kernel=glorot_uniform): input of shape [2 x 2] does not "
                  "match the expected [n x 4]");
}

TEST(ErrorMessageTest, EvaluateAndPredictRejectANegativeBatchSize) {
  Sequential model = TwoLayers(Sgd{});
  const Tensor x = MakeTensor(Cpu(), {3, 2}, {1, 2, 3, 4, 5, 6});
  const Tensor y = MakeTensor(Cpu(), {3, 1}, {1, 0, 1});
  EXPECT_CONTAINS(ErrorOf([&] { model.Evaluate(x, y, -7); }),
                  "Evaluate: batch_size is -7; pass a positive size, or 0 (the default) for "
                  "the whole data set at once");
  EXPECT_CONTAINS(ErrorOf([&] { model.Predict(x, -7); }), "Predict: batch_size is -7");
  const std::vector<float> whole = model.Predict(x).ToHost();
  EXPECT_EQ(model.Predict(x, FitOptions::kFullBatch).ToHost(), whole);
  EXPECT_EQ(model.Predict(x, 2).ToHost(), whole);
  EXPECT_EQ(model.Evaluate(x, y, FitOptions::kFullBatch).loss, model.Evaluate(x, y).loss);
}

// Settings that would train silently into NaN weights are refused by Compile, naming the
// field, and leave the model compiled as it was.
TEST(ErrorMessageTest, CompileRejectsOptimizerSettingsOutsideTheirRange) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const struct {
    Optimizer optimizer;
    const char* expected;
  } cases[] = {
      {Sgd{.learning_rate = nan}, "Compile: Sgd: learning_rate is nan; it must be finite and >= 0"},
      {Sgd{.learning_rate = inf}, "Sgd: learning_rate is inf"},
      {Sgd{.learning_rate = -1e30f}, "Sgd: learning_rate is -1e+30"},
      {Sgd{.momentum = nan}, "Sgd: momentum is nan; it must be in [0, 1)"},
      {Sgd{.momentum = 1.0f}, "Sgd: momentum is 1; it must be in [0, 1)"},
      {Sgd{.momentum = -0.1f}, "Sgd: momentum is -0.1"},
      {Sgd{.penalty = {.l2 = nan}}, "Sgd: penalty.l2 is nan; it must be finite and >= 0"},
      {Sgd{.penalty = {.l2 = -1.0f}}, "Sgd: penalty.l2 is -1"},
      {Sgd{.penalty = {.l2 = inf}}, "Sgd: penalty.l2 is inf"},
      {Adam{.learning_rate = -0.5f}, "Adam: learning_rate is -0.5"},
      {Adam{.beta1 = 1.0f}, "Adam: beta1 is 1; it must be in [0, 1)"},
      {Adam{.beta1 = -0.5f}, "Adam: beta1 is -0.5"},
      {Adam{.beta2 = 1.5f}, "Adam: beta2 is 1.5; it must be in [0, 1)"},
      {Adam{.beta2 = nan}, "Adam: beta2 is nan"},
      {Adam{.epsilon = 0.0f}, "Adam: epsilon is 0; it must be finite and > 0"},
      {Adam{.epsilon = inf}, "Adam: epsilon is inf"},
      {Adam{.penalty = {.l2 = -2.0f}}, "Adam: penalty.l2 is -2"},
  };
  Sequential model = TwoLayers(Sgd{.learning_rate = 0.25f});
  for (const auto& c : cases) {
    EXPECT_CONTAINS(ErrorOf([&] { model.Compile(BinaryCrossEntropy(), c.optimizer); }), c.expected);
    EXPECT_EQ(std::get<Sgd>(model.optimizer()).learning_rate, 0.25f);
  }
  // The edges of each range are accepted.
  EXPECT_NO_THROW(
      model.Compile(BinaryCrossEntropy(), Sgd{.learning_rate = 0.0f, .momentum = 0.999f}));
  EXPECT_NO_THROW(
      model.Compile(BinaryCrossEntropy(), Adam{.beta1 = 0.0f, .beta2 = 0.0f, .epsilon = 1e-30f}));
}

TEST(ErrorMessageTest, UnknownNamesListTheValidOnes) {
  EXPECT_CONTAINS(ErrorOf([] { Dense(3, "softmax"); }),
                  "unknown activation 'softmax'; valid: linear, sigmoid, tanh, relu");
  EXPECT_CONTAINS(ErrorOf([] { Dense(3, "relu", "xavier"); }),
                  "unknown initializer 'xavier' (no such name); valid: glorot_normal, ");
  EXPECT_CONTAINS(ErrorOf([] { MakeBackend("tpu"); }),
                  "unknown device 'tpu'; valid: cpu, cuda, auto");
}

}  // namespace
}  // namespace fanin
