// The losses through the public API (fanin/loss.h): PyTorch's values on the same inputs, a
// multi-class and a regression model that train to a stated metric, the label and shape
// errors a new user meets, Predict's links, the registry, and checkpoints of every loss.
#include "fanin/loss.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "fanin/checkpoint.h"
#include "fanin/fanin.h"
#include "tests/expect_error.h"
#include "tests/model_checks.h"
#include "tests/test_util.h"

namespace fanin {
namespace {

using testing::Cpu;
using testing::ErrorOf;

// ---- PyTorch -------------------------------------------------------------------------------
// The mean loss and d(mean loss)/d(output) of PyTorch 1.13 in float64 on the inputs below
// (exact in float), printed by tests/torch/loss_constants.py in this order. fanin computes in
// float: the loss within (k + 8) u of the sum of its terms' magnitudes (the op tests' bound;
// here at most 3 classes and logits of 1e4, so 2e-6 of the loss plus 1e-7), the gradients
// within 2e-6 of themselves plus 1e-9; a wrong formula or smoothing errs by far more.
struct TorchCase {
  double loss;
  std::vector<double> grad;
};
const std::vector<TorchCase> kTorch = {
    // binary_crossentropy from logits
    {1666.9425399212262,
     {-0.0079043121962611065, 0.019867153670352924, 0.041243221866975766, 0.16666666666666666, 0,
      -0.083333333333333329}},
    // binary_crossentropy from logits, label_smoothing 0.25
    {1667.0441024212262,
     {0.012929021137072227, -0.00096617966298040891, 0.03603488853364243, 0.14583333333333334,
      -0.020833333333333332, -0.0625}},
    // binary_crossentropy from probabilities
    {1.4194688533548774,
     {-0.19047619047619047, 0.22222222222222221, 0.083333333333333329, 170.66666666666666,
      0.16682958618442489, -0.26666666666666666}},
    // sparse_categorical_crossentropy
    {5000.3410148955927,
     {-0.053600741352681031, 0.0097781433176718623, 0.043822598035009173, 0.00022253406695529237,
      0.0057392292299323893, -0.0059617632968876899, 0.083333333333333329, -0.16666666666666669,
      0.083333333333333329, 0.25, -0.25, 0}},
    // sparse_categorical_crossentropy, label_smoothing 0.25
    {4375.5962232289266,
     {-0.011934074686014373, -0.01105519001566147, 0.022989264701675841, -0.02061079926637804,
      -0.015094104103400943, 0.035704903369778968, 0.0625, -0.125, 0.0625, 0.22916666666666666,
      -0.20833333333333334, -0.020833333333333332}},
    // categorical_crossentropy, soft labels
    {3750.9503898955932,
     {0.0088992586473189694, -0.021471856682328136, 0.012572598035009173, 0.00022253406695529237,
      -0.11926077077006761, 0.11903823670311231, 0.020833333333333329, 0.020833333333333329,
      -0.041666666666666671, 0.1875, -0.1875, 0}},
    // categorical_crossentropy, soft labels, label_smoothing 0.5
    {3126.1561190622592,
     {0.060982591980652291, -0.0475135233489948, -0.013469068631657496, -0.041444132599711372,
      -0.098427437436734266, 0.13987157003644562, 0.010416666666666663, 0.010416666666666663,
      -0.020833333333333339, 0.17708333333333331, -0.13541666666666666, -0.041666666666666664}},
    // mean_squared_error
    {0.42708333333333331,
     {0.16666666666666666, -0.33333333333333331, 0.083333333333333329, -0.16666666666666666, 0,
      0.33333333333333331}},
    // mean_absolute_error
    {0.54166666666666663,
     {0.16666666666666666, -0.16666666666666666, 0.16666666666666666, -0.16666666666666666, 0,
      0.16666666666666666}},
};

const std::vector<float> kZ = {2, -1, 0.5f, -3, 0.25f, 4, 0, 0, 0, 1e4f, -1e4f, 3};
const std::vector<float> kIndex = {0, 2, 1, 1};
const std::vector<float> kSoft = {0.75f, 0.125f, 0.125f, 0,     0.5f,  0.5f,
                                  0.25f, 0.25f,  0.5f,   0.25f, 0.75f, 0};
const std::vector<float> kLogit = {3, -2, 0.5f, 1e4f, -1e4f, 0};
const std::vector<float> kBinary = {1, 0, 0.375f, 0, 0, 1};
const std::vector<float> kProb = {0.875f, 0.25f, 0.5f, 1 - 0x1p-10f, 0x1p-10f, 0.625f};
const std::vector<float> kOut = {1.5f, -2, 0.25f, 0, -1, 3};
const std::vector<float> kTarget = {1, -1, 0, 0.5f, -1, 2};

void ExpectMatchesTorch(const Loss& loss, const std::vector<float>& out, const Shape& out_shape,
                        const std::vector<float>& labels, const Shape& label_shape,
                        const TorchCase& torch) {
  const auto backend = Cpu();
  const Tensor output = Tensor::FromHost(backend, out_shape, out);
  const Tensor y = Tensor::FromHost(backend, label_shape, labels);
  Tensor grad(backend, out_shape), totals(backend, {2});
  const auto n = static_cast<float>(out_shape[0]);
  loss.Compute(output, y, 1.0f / n, &grad, totals, 0);
  const double mean = totals.ToHost()[0] / n;
  EXPECT_NEAR(mean, torch.loss, 2e-6 * std::fabs(torch.loss) + 1e-7) << loss.config().ToJson();
  testing::ExpectClose(torch.grad, grad.ToHost(), 2e-6, 1e-9, loss.config().ToJson());
}

TEST(LossTest, MatchesPyTorchOnTheSameInputs) {
  ExpectMatchesTorch(BinaryCrossEntropy(), kLogit, {6, 1}, kBinary, {6, 1}, kTorch[0]);
  ExpectMatchesTorch(BinaryCrossEntropy({.label_smoothing = 0.25f}), kLogit, {6, 1}, kBinary,
                     {6, 1}, kTorch[1]);
  ExpectMatchesTorch(BinaryCrossEntropy({.from_logits = false}), kProb, {6, 1}, kBinary, {6, 1},
                     kTorch[2]);
  ExpectMatchesTorch(SparseCategoricalCrossEntropy(), kZ, {4, 3}, kIndex, {4, 1}, kTorch[3]);
  ExpectMatchesTorch(SparseCategoricalCrossEntropy(0.25f), kZ, {4, 3}, kIndex, {4, 1}, kTorch[4]);
  ExpectMatchesTorch(CategoricalCrossEntropy(), kZ, {4, 3}, kSoft, {4, 3}, kTorch[5]);
  ExpectMatchesTorch(CategoricalCrossEntropy(0.5f), kZ, {4, 3}, kSoft, {4, 3}, kTorch[6]);
  ExpectMatchesTorch(MeanSquaredError(), kOut, {3, 2}, kTarget, {3, 2}, kTorch[7]);
  ExpectMatchesTorch(MeanAbsoluteError(), kOut, {3, 2}, kTarget, {3, 2}, kTorch[8]);
}

// Logits of +-1e4 give finite losses and gradients in every cross-entropy.
TEST(LossTest, FiniteForLogitsOfTenThousand) {
  const auto backend = Cpu();
  const std::vector<float> z = {1e4f, -1e4f, -1e4f, 1e4f};
  const Tensor binary = Tensor::FromHost(backend, {4, 1}, z);
  const Tensor pairs = Tensor::FromHost(backend, {2, 2}, z);
  Tensor totals(backend, {2}), g1(backend, {4, 1}), g2(backend, {2, 2});
  const auto finite = [](const Tensor& t) {
    for (const float v : t.ToHost()) {
      if (!std::isfinite(v)) return false;
    }
    return true;
  };
  BinaryCrossEntropy().Compute(
      binary, Tensor::FromHost(backend, {4, 1}, std::vector<float>{0, 1, 0, 1}), 1, &g1, totals, 0);
  EXPECT_TRUE(finite(totals) && finite(g1));
  EXPECT_FLOAT_EQ(totals.ToHost()[0], 2e4f);
  SparseCategoricalCrossEntropy(0.1f).Compute(
      pairs, Tensor::FromHost(backend, {2, 1}, std::vector<float>{1, 0}), 1, &g2, totals, 0);
  EXPECT_TRUE(finite(totals) && finite(g2));
  CategoricalCrossEntropy().Compute(
      pairs, Tensor::FromHost(backend, {2, 2}, std::vector<float>{0, 1, 0, 1}), 1, &g2, totals, 0);
  EXPECT_TRUE(finite(totals) && finite(g2));
  EXPECT_FLOAT_EQ(totals.ToHost()[0], 2e4f);
}

// ---- Training ------------------------------------------------------------------------------

Sequential Classifier(std::shared_ptr<const Loss> loss) {
  Sequential model(Cpu());
  model.Add(Dense(16, "relu", "he_uniform"));
  model.Add(Dense(3));
  model.Compile(std::move(loss), Adam{.learning_rate = 0.02f});
  model.Build(2, 7);
  return model;
}

// Three blobs 2 std apart at least most of the time: a 16-unit net separates them to 95% in
// well under 40 epochs (it reaches 0.99 at seed 1); a broken gradient stays near 1/3.
TEST(LossTest, MultiClassModelLearnsTheBlobs) {
  const Dataset data = Blobs(3, 2, 600, 0.8, 5.0, 1);
  const Split split = TrainTestSplit(data, 0.25, 3);
  Sequential model = Classifier(std::make_shared<CategoricalCrossEntropy>(0.0f, true));
  const History h = model.Fit(split.train.x, split.train.y, {.epochs = 40, .batch_size = 32});
  EXPECT_LT(h.epochs.back().loss, h.epochs.front().loss);
  const Evaluation e = model.Evaluate(split.test.x, split.test.y);
  EXPECT_GE(e.metric, 0.95) << "test accuracy; loss " << e.loss;
  EXPECT_EQ(model.loss().metric_name(), "accuracy");
  // Predict gives probabilities: rows in [0, 1] summing to 1.
  const std::vector<float> p = model.Predict(split.test.x).ToHost();
  for (size_t r = 0; r < p.size() / 3; ++r) {
    EXPECT_NEAR(p[3 * r] + p[3 * r + 1] + p[3 * r + 2], 1.0, 1e-6) << "row " << r;
  }
}

// One-hot rows and class indices are the same labels: training is bit-identical.
TEST(LossTest, OneHotAndIndexLabelsTrainBitIdentically) {
  const Dataset data = Blobs(3, 2, 300, 1.0, 5.0, 2);
  std::vector<float> index = data.y.ToHost(), one_hot(index.size() * 3, 0.0f);
  for (size_t i = 0; i < index.size(); ++i) one_hot[3 * i + static_cast<size_t>(index[i])] = 1;
  Sequential sparse = Classifier(std::make_shared<CategoricalCrossEntropy>(0.1f, true));
  Sequential dense = Classifier(std::make_shared<CategoricalCrossEntropy>(0.1f, false));
  const FitOptions o{.epochs = 3, .batch_size = 16};
  const History a = sparse.Fit(data.x, data.y, o);
  const History b = dense.Fit(data.x, Tensor::FromHost(Cpu(), {300, 3}, one_hot), o);
  for (size_t e = 0; e < a.epochs.size(); ++e) {
    EXPECT_EQ(a.epochs[e].loss, b.epochs[e].loss) << e;
    EXPECT_EQ(a.epochs[e].metric, b.epochs[e].metric) << e;
  }
  EXPECT_EQ(sparse.parameters().ToHost(), dense.parameters().ToHost());
}

// y = sin(pi x1) + x2 / 2 + x3 / 3 + N(0, 0.1^2): the best possible MSE is the noise's 0.01; a
// small tanh net gets under 0.03 on held-out data in 150 epochs, while predicting the mean
// scores about 0.6 (var(y)).
TEST(LossTest, RegressionModelFitsTheFunction) {
  const Dataset data = Regression(3, 1000, 0.1, 5);
  const Split split = TrainTestSplit(data, 0.2, 1, /*stratify=*/false);
  for (const ErrorKind kind : {ErrorKind::kSquared, ErrorKind::kAbsolute}) {
    Sequential model(Cpu());
    model.Add(Dense(32, "tanh"));
    model.Add(Dense(32, "tanh"));
    model.Add(Dense(1));
    model.Compile(RegressionError(kind), Adam{.learning_rate = 0.01f});
    model.Build(3, 11);
    model.Fit(split.train.x, split.train.y, {.epochs = 150, .batch_size = 32});
    const Evaluation e = model.Evaluate(split.test.x, split.test.y);
    const double mse = kind == ErrorKind::kSquared ? e.loss : e.metric;
    EXPECT_LT(mse, 0.03) << model.loss().config().ToJson() << " " << model.loss().metric_name();
    // Predict returns the output itself: its MSE against the targets is the evaluation's.
    const std::vector<float> p = model.Predict(split.test.x).ToHost(), t = split.test.y.ToHost();
    double sum = 0.0;
    for (size_t i = 0; i < p.size(); ++i) sum += (p[i] - t[i]) * (p[i] - t[i]);
    EXPECT_NEAR(sum / static_cast<double>(p.size()), mse, 1e-5);
  }
}

// ---- What a new user meets -----------------------------------------------------------------

TEST(LossTest, ErrorsSayWhichLossTakesWhat) {
  const Dataset blobs = Blobs(3, 2, 30, 1.0, 5.0, 0);
  Sequential bce(Cpu());
  bce.Add(Dense(3));
  bce.Compile(BinaryCrossEntropy(), Sgd{});
  bce.Build(2);
  EXPECT_CONTAINS(ErrorOf([&] { bce.Fit(blobs.x, blobs.y); }),
                  "Fit: binary_crossentropy: the model has 3 output units; binary cross-entropy "
                  "needs 1");
  EXPECT_CONTAINS(ErrorOf([&] { bce.Fit(blobs.x, blobs.y); }), "sparse_categorical_crossentropy");

  Sequential sparse = Classifier(std::make_shared<CategoricalCrossEntropy>(0.0f, true));
  std::vector<float> y = blobs.y.ToHost();
  y[4] = 3;
  EXPECT_CONTAINS(ErrorOf([&] {
                    sparse.Fit(blobs.x, Tensor::FromHost(Cpu(), {30, 1}, y));
                  }),
                  "Fit: y[4, 0] = 3; sparse_categorical_crossentropy needs class indices 0..2");
  y[4] = 0.5f;
  EXPECT_CONTAINS(ErrorOf([&] {
                    sparse.Evaluate(blobs.x, Tensor::FromHost(Cpu(), {30, 1}, y));
                  }),
                  "Evaluate: y[4, 0] = 0.5");

  Sequential categorical = Classifier(std::make_shared<CategoricalCrossEntropy>());
  EXPECT_CONTAINS(ErrorOf([&] { categorical.Fit(blobs.x, blobs.y); }),
                  "Fit: y has shape [30 x 1], expected [30 x 3] for x [30 x 2] and "
                  "categorical_crossentropy on 3 output units");
  std::vector<float> rows(90, 0.5f);
  EXPECT_CONTAINS(ErrorOf([&] {
                    categorical.Fit(blobs.x, Tensor::FromHost(Cpu(), {30, 3}, rows));
                  }),
                  "Fit: row 0 of y sums to 1.5");

  Sequential one(Cpu());
  one.Add(Dense(1));
  one.Compile(SparseCategoricalCrossEntropy(), Sgd{});
  one.Build(2);
  EXPECT_CONTAINS(ErrorOf([&] { one.Fit(blobs.x, blobs.y); }),
                  "needs k >= 2 logits (for two classes and one unit use binary_crossentropy)");

  EXPECT_CONTAINS(ErrorOf([] { BinaryCrossEntropy({.label_smoothing = -0.5f}); }),
                  "binary_crossentropy: label_smoothing -0.5");
  EXPECT_CONTAINS(ErrorOf([] { CategoricalCrossEntropy(2.0f); }),
                  "categorical_crossentropy: label_smoothing 2");
}

// A loss registered by a user is built by name, and so restored from checkpoints.
class HalfSquaredError final : public Loss {
 public:
  Config config() const override { return Config("test_half_squared_error"); }
  std::string metric_name() const override { return "mean_absolute_error"; }
  int64_t LabelColumns(int64_t units) const override { return units; }
  void CheckLabels(std::string_view, std::span<const float>, int64_t, int64_t) const override {}
  void Compute(const Tensor& output, const Tensor& labels, float grad_scale, Tensor* grad,
               Tensor& totals, int64_t slot) const override {
    ops::RegressionLoss(ErrorKind::kSquared, output, labels, 0.5f * grad_scale, grad, totals, slot);
  }
  void Link(Tensor&) const override {}
};

TEST(LossTest, RegistryBuildsEveryLossFromItsConfig) {
  const std::vector<std::shared_ptr<const Loss>> losses = {
      std::make_shared<BinaryCrossEntropy>(BinaryCrossEntropyOptions{false, 0.25f}),
      std::make_shared<CategoricalCrossEntropy>(0.5f),
      std::make_shared<CategoricalCrossEntropy>(0.0f, true),
      std::make_shared<RegressionError>(MeanSquaredError()),
      std::make_shared<RegressionError>(MeanAbsoluteError())};
  for (const auto& loss : losses) {
    const Config c = Config::FromJson(loss->config().ToJson());
    EXPECT_EQ(MakeLoss(c)->config(), loss->config()) << c.ToJson();
  }
  EXPECT_EQ(Config::FromJson(R"({"type":"binary_crossentropy"})").type(), "binary_crossentropy");
  EXPECT_CONTAINS(ErrorOf([] { MakeLoss(Config("binary_crossentropi")); }),
                  "unknown loss \"binary_crossentropi\"; did you mean \"binary_crossentropy\"?");
  EXPECT_CONTAINS(ErrorOf([] { MakeLoss(Config("mean_squared_error").Set("from_logits", true)); }),
                  "mean_squared_error: unknown parameter \"from_logits\"");
  EXPECT_CONTAINS(
      ErrorOf([] { MakeLoss(Config("categorical_crossentropy").Set("from_logits", false)); }),
      "only from_logits = true");
  EXPECT_CONTAINS(ErrorOf([] {
                    RegisterLoss("mean_squared_error", [](const Config&) {
                      return std::make_unique<HalfSquaredError>();
                    });
                  }),
                  "Register: loss \"mean_squared_error\" is already registered");
}

TEST(LossTest, CheckpointsRestoreEveryLossAndResumeExactly) {
  RegisterLoss("test_half_squared_error", [](const Config& c) {
    c.CheckKeys({});
    return std::make_unique<HalfSquaredError>();
  });
  const Dataset blobs = Blobs(3, 2, 90, 1.0, 5.0, 4);
  const Dataset reg = Regression(2, 90, 0.1, 4);
  struct Case {
    std::shared_ptr<const Loss> loss;
    const Dataset* data;
    int64_t units;
  };
  const std::vector<Case> cases = {
      {std::make_shared<CategoricalCrossEntropy>(0.1f, true), &blobs, 3},
      {std::make_shared<RegressionError>(MeanAbsoluteError()), &reg, 1},
      {std::make_shared<HalfSquaredError>(), &reg, 1}};
  for (const Case& c : cases) {
    const auto build = [&] {
      Sequential m(Cpu());
      m.Add(Dense(8, "tanh"));
      m.Add(Dense(c.units));
      m.Compile(c.loss, Adam{.learning_rate = 0.01f});
      m.Build(2, 3);
      return m;
    };
    testing::ExpectResumesExactly(build, *c.data, Cpu(), [&](Sequential&, Sequential& resumed) {
      EXPECT_EQ(resumed.loss().config(), c.loss->config());
    });
  }
}

}  // namespace
}  // namespace fanin
