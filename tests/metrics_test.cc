// Classify and Regress against values worked out by hand (each case small enough to check
// on paper; the comments give the arithmetic), and their errors.
#include "fanin/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "fanin/fanin.h"
#include "tests/expect_error.h"
#include "tests/test_util.h"

namespace fanin {
namespace {

using testing::ErrorOf;

Tensor Host(Shape shape, std::vector<float> v) {
  return Tensor::FromHost(HostBackend(), std::move(shape), v);
}

// Scores 0.9 0.8 0.7 0.6 0.4 0.3 0.2 0.1 for labels 1 1 0 1 0 1 0 0. At 0.5: TP 3 (0.9, 0.8,
// 0.6), FP 1 (0.7), FN 1 (0.3), TN 3. Precision(1) = recall(1) = 3/4; class 0 likewise.
// AUC: of the 16 (positive, negative) pairs the positive scores higher in all but 0.6 < 0.7,
// 0.3 < 0.7 and 0.3 < 0.4: 13/16.
TEST(MetricsTest, BinaryConfusionF1AndRocAuc) {
  const ClassificationMetrics m =
      Classify(Host({8, 1}, {0.9f, 0.8f, 0.7f, 0.6f, 0.4f, 0.3f, 0.2f, 0.1f}),
               Host({8, 1}, {1, 1, 0, 1, 0, 1, 0, 0}));
  EXPECT_EQ(m.classes, 2);
  EXPECT_EQ(m.confusion, (std::vector<int64_t>{3, 1, 1, 3}));
  EXPECT_DOUBLE_EQ(m.accuracy, 0.75);
  EXPECT_DOUBLE_EQ(m.precision[1], 0.75);
  EXPECT_DOUBLE_EQ(m.recall[1], 0.75);
  EXPECT_DOUBLE_EQ(m.f1[0], 0.75);
  EXPECT_DOUBLE_EQ(m.macro_f1, 0.75);
  EXPECT_DOUBLE_EQ(m.roc_auc, 13.0 / 16.0);
  // Ties count one half: all scores equal gives 0.5.
  EXPECT_DOUBLE_EQ(
      Classify(Host({4, 1}, {0.5f, 0.5f, 0.5f, 0.5f}), Host({4, 1}, {1, 0, 1, 0})).roc_auc, 0.5);
  EXPECT_TRUE(std::isnan(Classify(Host({2, 1}, {0.1f, 0.9f}), Host({2, 1}, {1, 1})).roc_auc));
}

// Three classes, rows of probabilities; true 0 0 1 1 2 2, predicted (argmax) 0 1 1 1 2 0.
// Class 0: predicted twice, right once: precision 1/2, recall 1/2, F1 1/2. Class 1: predicted
// 3 times, right twice: precision 2/3, recall 1, F1 0.8. Class 2: 1/1, 1/2, F1 2/3.
TEST(MetricsTest, MultiClassPerClassAndMacroF1) {
  const Tensor p = Host({6, 3}, {0.7f, 0.2f, 0.1f, 0.3f, 0.6f, 0.1f, 0.1f, 0.8f, 0.1f, 0.2f, 0.5f,
                                 0.3f, 0.1f, 0.1f, 0.8f, 0.5f, 0.2f, 0.3f});
  const ClassificationMetrics m = Classify(p, Host({6, 1}, {0, 0, 1, 1, 2, 2}));
  EXPECT_EQ(m.confusion, (std::vector<int64_t>{1, 1, 0, 0, 2, 0, 1, 0, 1}));
  EXPECT_DOUBLE_EQ(m.accuracy, 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(m.precision[1], 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.recall[1], 1.0);
  EXPECT_NEAR(m.f1[1], 0.8, 1e-15);
  EXPECT_NEAR(m.macro_f1, (0.5 + 0.8 + 2.0 / 3.0) / 3.0, 1e-15);
  EXPECT_TRUE(std::isnan(m.roc_auc));
  EXPECT_CONTAINS(ErrorOf([&] {
                    Classify(p, Host({6, 1}, {0, 0, 1, 1, 2, 3}));
                  }),
                  "Classify: label 3 of row 5 is not a class index 0..2 for predictions [6 x 3]");
  EXPECT_CONTAINS(ErrorOf([&] {
                    Classify(p, Host({5, 1}, {0, 0, 1, 1, 2}));
                  }),
                  "Classify: predictions [6 x 3] need one label per row or one-hot labels of "
                  "their shape, got labels [5 x 1]");
  // One-hot (or soft) labels of the predictions' shape: the class is the row's argmax.
  const ClassificationMetrics one_hot =
      Classify(p, Host({6, 3}, {1, 0, 0, 0.9f, 0.1f, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0.2f, 0, 0.8f}));
  EXPECT_EQ(one_hot.confusion, m.confusion);
}

// Targets 1 2 3 4 (mean 2.5, SS_tot 5), predictions 1 2 4 3: residuals 0 0 1 -1, SS_res 2:
// MSE 0.5, MAE 0.5, R^2 = 1 - 2/5 = 0.6.
TEST(MetricsTest, RegressionErrorsAndR2) {
  const RegressionMetrics r = Regress(Host({4, 1}, {1, 2, 4, 3}), Host({4, 1}, {1, 2, 3, 4}));
  EXPECT_DOUBLE_EQ(r.mean_squared_error, 0.5);
  EXPECT_DOUBLE_EQ(r.mean_absolute_error, 0.5);
  EXPECT_DOUBLE_EQ(r.r2, 0.6);
  EXPECT_TRUE(std::isnan(Regress(Host({2, 1}, {1, 2}), Host({2, 1}, {3, 3})).r2));
  EXPECT_CONTAINS(ErrorOf([] {
                    Regress(Host({2, 1}, {1, 2}), Host({1, 2}, {1, 2}));
                  }),
                  "Regress: predictions [2 x 1] and targets [1 x 2] differ");
}

// On a trained model: the blobs classifier's metrics agree with Evaluate's accuracy.
TEST(MetricsTest, AgreeWithEvaluateOnATrainedModel) {
  const Dataset data = Blobs(3, 2, 300, 1.0, 5.0, 3);
  Sequential m(testing::Cpu());
  m.Add(Dense(16, "relu", "he_uniform"));
  m.Add(Dense(3));
  m.Compile(SparseCategoricalCrossEntropy(), Adam{.learning_rate = 0.02f});
  m.Build(2, 1);
  m.Fit(data.x, data.y, {.epochs = 10, .batch_size = 32});
  const ClassificationMetrics c = Classify(m.Predict(data.x), data.y);
  EXPECT_NEAR(c.accuracy, m.Evaluate(data.x, data.y).metric, 1e-12);
  int64_t total = 0;
  for (const int64_t v : c.confusion) total += v;
  EXPECT_EQ(total, 300);
}

// FitOptions::validation_metrics: each epoch's logs hold Classify or Regress of the
// predictions on the validation data, the last epoch's those of the trained model.
TEST(MetricsTest, FitReportsThemPerEpochOnTheValidationData) {
  const Split blobs = TrainTestSplit(Blobs(3, 2, 300, 1.0, 5.0, 3), 0.25, 1, true);
  Sequential c(testing::Cpu());
  c.Add(Dense(16, "relu", "he_uniform"));
  c.Add(Dense(3));
  c.Compile(SparseCategoricalCrossEntropy(), Adam{.learning_rate = 0.02f});
  c.Build(2, 1);
  const History h = c.Fit(blobs.train.x, blobs.train.y,
                          {.epochs = 3,
                           .validation_x = &blobs.test.x,
                           .validation_y = &blobs.test.y,
                           .validation_metrics = true});
  ASSERT_EQ(h.epochs.size(), 3u);
  for (const EpochLogs& e : h.epochs) {
    ASSERT_TRUE(e.val_classification.has_value()) << "epoch " << e.epoch;
    EXPECT_FALSE(e.val_regression.has_value());
    EXPECT_NEAR(e.val_classification->accuracy, e.val_metric, 1e-12);
  }
  const ClassificationMetrics last = Classify(c.Predict(blobs.test.x), blobs.test.y);
  EXPECT_EQ(h.epochs.back().val_classification->confusion, last.confusion);

  const Split reg = TrainTestSplit(Regression(3, 200, 0.1, 2), 0.25, 1, false);
  Sequential r(testing::Cpu());
  r.Add(Dense(8, "tanh"));
  r.Add(Dense(1));
  r.Compile(MeanAbsoluteError(), Adam{.learning_rate = 0.01f});
  r.Build(3, 1);
  const History hr = r.Fit(reg.train.x, reg.train.y,
                           {.epochs = 2,
                            .validation_x = &reg.test.x,
                            .validation_y = &reg.test.y,
                            .validation_metrics = true});
  ASSERT_TRUE(hr.epochs.back().val_regression.has_value());
  EXPECT_FALSE(hr.epochs.back().val_classification.has_value());
  // The loss is the MAE, its metric the MSE.
  const EpochLogs& e = hr.epochs.back();
  EXPECT_NEAR(e.val_regression->mean_absolute_error, e.val_loss, 1e-6 * e.val_loss);
  EXPECT_NEAR(e.val_regression->mean_squared_error, e.val_metric, 1e-6 * e.val_metric);
  // Without the option, none.
  const History plain = r.Fit(
      reg.train.x, reg.train.y,
      {.epochs = 3, .initial_epoch = 2, .validation_x = &reg.test.x, .validation_y = &reg.test.y});
  EXPECT_FALSE(plain.epochs.back().val_regression.has_value());
}

}  // namespace
}  // namespace fanin
