// The binary cross-entropy post's example: a logistic regression on ten 1-D points, fitted
// the way scikit-learn's LogisticRegression does by default (L2 penalty with C = 1 on the
// weight only, i.e. mean BCE + w^2 / (2 C N)), to convergence. Prints each point's
// probability and the mean log loss (the post's 0.3329), then the unpenalised fit.
#include <cmath>
#include <cstdio>
#include <vector>

#include "fanin/command_line.h"
#include "fanin/fanin.h"

namespace {

constexpr float kX[] = {-2.2f, -1.4f, -0.8f, 0.2f, 0.4f, 0.8f, 1.2f, 2.2f, 2.9f, 4.6f};
constexpr float kY[] = {0, 0, 1, 0, 1, 1, 1, 1, 1, 1};
constexpr int kN = 10;

// Full-batch gradient descent on a convex loss until the weight and bias stop moving.
void FitAndReport(const char* title, float l2) {
  const auto host = fanin::HostBackend();
  const fanin::Tensor x = fanin::Tensor::FromHost(host, {kN, 1}, kX);
  const fanin::Tensor y = fanin::Tensor::FromHost(host, {kN, 1}, kY);
  fanin::Sequential model;
  model.Add(fanin::Dense(1, fanin::Activation::kLinear, fanin::Initializer::Zeros()));
  model.Compile(fanin::BinaryCrossEntropy{},
                fanin::Sgd{.learning_rate = 1.0f, .penalty = {.l2 = l2}});
  model.Build(1);
  std::vector<float> previous = model.parameters().ToHost();
  int epochs = 0;
  while (epochs < 100000) {
    model.Fit(x, y, {.epochs = 100, .batch_size = fanin::FitOptions::kFullBatch, .shuffle = false});
    epochs += 100;
    const std::vector<float> now = model.parameters().ToHost();
    const bool converged =
        std::fabs(now[0] - previous[0]) < 1e-7f && std::fabs(now[1] - previous[1]) < 1e-7f;
    previous = now;
    if (converged) break;
  }
  const std::vector<float> p = model.Predict(x).ToHost();
  std::printf("%s: w = %.4f, b = %.4f after %d epochs\n", title, previous[0], previous[1], epochs);
  std::printf("   x     y   p(y=1)  -log p(y)\n");
  double loss = 0.0;
  for (int i = 0; i < kN; ++i) {
    const double p_true = kY[i] > 0.5f ? p[i] : 1.0 - p[i];
    loss -= std::log(p_true);
    std::printf("%5.1f %5.0f  %6.4f  %8.4f\n", kX[i], kY[i], p[i], -std::log(p_true));
  }
  std::printf("mean log loss: %.4f\n\n", loss / kN);
}

}  // namespace

int main(int argc, char** argv) {
  // No flags: the command line is parsed only so that --help answers and anything else is
  // refused rather than ignored.
  CLI::App app("Fits the binary cross-entropy post's logistic regression; takes no flags.",
               "bce_toy");
  fanin::cli::ParseOrExit(app, argc, argv);
  // scikit-learn minimises C * sum(BCE) + w^2 / 2; divided by C N that is mean BCE +
  // w^2 / (2 C N), a Keras-style l2 of 1 / (2 C N) = 0.05 on the kernel.
  FitAndReport("scikit-learn default (L2, C = 1)", 1.0f / (2.0f * 1.0f * kN));
  FitAndReport("unpenalised", 0.0f);
  return 0;
}
