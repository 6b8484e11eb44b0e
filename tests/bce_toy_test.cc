// The binary cross-entropy post's toy problem: a logistic regression on ten points, fitted
// the way scikit-learn's LogisticRegression does by default (L2 penalty with C = 1 on the
// weight only: minimise mean BCE + w^2 / (2 C N)), whose mean log loss is the post's 0.3329.
//
// Reference values (Newton's method in double precision, computed independently of fanin):
//   penalised   (l2 = 1/(2 C N) = 0.05): w = 0.971934, b = 0.655536, log loss 0.332911
//   unpenalised (maximum likelihood):    w = 1.642426, b = 0.802836, log loss 0.305159

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "fanin/fanin.h"
#include "test_util.h"

namespace fanin {
namespace {

const std::vector<float> kX = {-2.2f, -1.4f, -0.8f, 0.2f, 0.4f, 0.8f, 1.2f, 2.2f, 2.9f, 4.6f};
const std::vector<float> kY = {0, 0, 1, 0, 1, 1, 1, 1, 1, 1};
constexpr int kN = 10;

struct Fit {
  double w, b, log_loss;
};

// Full-batch SGD (plain gradient descent), lr 0.5: the loss's curvature is at most
// 0.25 * mean(x^2 + 1) ~ 1.3 < 2 / lr, and at least ~0.07 (unpenalised Hessian), so each
// step shrinks the error by at least 1 - 0.5 * 0.07 = 0.964; 3000 steps leave e^-110 of it,
// i.e. convergence to float precision. Convergence is checked below by the gradient norm.
Fit FitToy(float l2) {
  Sequential model(testing::Cpu());
  model.Add(Dense(1));  // logit = w x + b, fused sigmoid + BCE
  model.Compile(BinaryCrossEntropy({.from_logits = true}),
                Sgd{.learning_rate = 0.5f, .penalty = {.l2 = l2, .kernels_only = true}});
  model.Build(1, /*seed=*/0);
  const Tensor x = Tensor::FromHost(model.backend_ptr(), {kN, 1}, kX);
  const Tensor y = Tensor::FromHost(model.backend_ptr(), {kN, 1}, kY);
  model.Fit(x, y, {.epochs = 3000, .batch_size = FitOptions::kFullBatch, .shuffle = false});

  const std::vector<float> params = model.Packed(model.parameters());  // kernel [1 x 1], bias [1]
  EXPECT_EQ(params.size(), 2u);
  const double w = params[0], b = params[1];

  // Converged: the penalised objective's gradient, computed here in double, is ~0.
  double gw = 0.0, gb = 0.0;
  for (int i = 0; i < kN; ++i) {
    const double p = testing::RefSigmoid(w * kX[i] + b);
    gw += (p - kY[i]) * kX[i] / kN;
    gb += (p - kY[i]) / kN;
  }
  gw += 2.0 * l2 * w;
  EXPECT_LT(std::hypot(gw, gb), 1e-5) << "not converged (l2 = " << l2 << ")";

  // The mean log loss of the predicted probabilities, without the penalty.
  const std::vector<float> p = model.Predict(x).ToHost();
  double loss = 0.0;
  for (int i = 0; i < kN; ++i) loss += testing::RefBceProbability(p[i], kY[i]) / kN;
  return {w, b, loss};
}

TEST(BceToyTest, PenalisedFitGivesThePostsLogLoss) {
  const Fit fit = FitToy(0.05f);  // 1 / (2 C N) with C = 1, N = 10
  EXPECT_NEAR(fit.w, 0.971934, 1e-4);
  EXPECT_NEAR(fit.b, 0.655536, 1e-4);
  // 0.3329 to four decimals: within half a unit of the fourth decimal.
  EXPECT_NEAR(fit.log_loss, 0.3329, 5e-5);
  EXPECT_NEAR(fit.log_loss, 0.332911, 1e-5);
}

TEST(BceToyTest, UnpenalisedFitHasLowerLoss) {
  const Fit plain = FitToy(0.0f);
  EXPECT_NEAR(plain.w, 1.642426, 1e-4);
  EXPECT_NEAR(plain.b, 0.802836, 1e-4);
  EXPECT_NEAR(plain.log_loss, 0.305159, 1e-5);
  EXPECT_LT(plain.log_loss, 0.332911 - 0.02);
}

}  // namespace
}  // namespace fanin
