// A regression: y = sin(pi x1) + x2 / 2 + x3 / 3 + noise (fanin::Regression), or a CSV file
// with a continuous target column, fitted by a small tanh net with one linear output on the
// mean squared error, its features standardized by a Normalization layer fitted on the
// training part (so that a checkpoint of the model standardizes new data the same way).
// Prints the loss (MSE) and the mean absolute error per epoch, then the held-out MSE against
// the noise's variance (the best any model can do on the built-in set).
//
//   fit_regression [--epochs 100] [--noise 0.1] [--loss mean_absolute_error] [--csv f --label y]
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <utility>

#include "fanin/command_line.h"
#include "fanin/fanin.h"

namespace {

struct Options {
  int epochs = 100;
  double noise = 0.1;
  std::string loss = "mean_squared_error";
  std::string csv, label = "y";
  uint64_t seed = 1;
  std::string device = "auto";
};

Options Parse(int argc, char** argv) {
  Options o;
  CLI::App app(
      "Fits a regression (mean squared or absolute error) and prints its errors per "
      "epoch and on held-out data.",
      "fit_regression");
  fanin::cli::ShowDefaults(app);
  app.add_option("--epochs", o.epochs, "epochs to train")
      ->transform(fanin::cli::Integer(1, std::numeric_limits<int>::max()));
  app.add_option("--noise", o.noise, "std of the built-in set's noise (ignored with --csv)")
      ->check(CLI::Range(0.0, 1e6));
  app.add_option("--loss", o.loss, "the loss; its metric is the other error")
      ->check(CLI::IsMember({"mean_squared_error", "mean_absolute_error"}));
  app.add_option("--csv", o.csv, "a CSV file instead: numeric features and a target column");
  app.add_option("--label", o.label, "the CSV file's target column");
  app.add_option("--seed", o.seed, "seed of the data, the split, the weights and the shuffles")
      ->transform(fanin::cli::Integer<uint64_t>(0, std::numeric_limits<uint64_t>::max()));
  app.add_option("--device", o.device, "backend: cpu, cuda, auto (cuda when usable, else cpu)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  fanin::cli::ParseOrExit(app, argc, argv);
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  const fanin::Dataset data = o.csv.empty()
                                  ? fanin::Regression(3, 2000, o.noise, o.seed)
                                  : fanin::LoadCsv(o.csv, o.label, fanin::CsvLabels::kContinuous);
  const fanin::Split split = fanin::TrainTestSplit(data, 0.2, o.seed, /*stratify=*/false);

  fanin::Sequential model(fanin::MakeBackend(o.device));
  auto standardize = std::make_unique<fanin::Normalization>();
  standardize->Adapt(split.train.x);
  model.Add(std::move(standardize));
  model.Add(fanin::Dense(32, "tanh"));
  model.Add(fanin::Dense(32, "tanh"));
  model.Add(fanin::Dense(1));  // the prediction itself
  model.Compile(fanin::MakeLoss(fanin::Config(o.loss)), fanin::Adam{.learning_rate = 0.01f});
  model.Build(data.x.cols(), o.seed);
  std::printf("%lld training and %lld held-out samples on %s\n%s\n",
              static_cast<long long>(split.train.x.rows()),
              static_cast<long long>(split.test.x.rows()),
              std::string(model.backend().name()).c_str(), model.Summary().c_str());
  model.Fit(split.train.x, split.train.y,
            {.epochs = o.epochs,
             .batch_size = 32,
             .shuffle_seed = o.seed,
             .validation_x = &split.test.x,
             .validation_y = &split.test.y,
             .verbose = 2});
  const fanin::Evaluation e = model.Evaluate(split.test.x, split.test.y);
  const fanin::RegressionMetrics r = fanin::Regress(model.Predict(split.test.x), split.test.y);
  std::printf("held out: %s %.5f, %s %.5f, R^2 %.4f", o.loss.c_str(), e.loss,
              model.loss().metric_name().c_str(), e.metric, r.r2);
  if (o.csv.empty()) std::printf(" (the noise's variance: %.5f)", o.noise * o.noise);
  std::printf("\n");
  return 0;
}
