// A multi-class classifier: k Gaussian blobs (fanin::Blobs), or a CSV file whose label column
// holds class indices 0..k-1, learned by a small ReLU net ending in k logits, trained on the
// sparse categorical cross-entropy (softmax fused). Prints the loss, accuracy and held-out
// macro F1 per epoch, then the held-out accuracy, macro F1, confusion matrix and per-class
// precision and recall.
//
//   classify_blobs [--classes 4] [--epochs 30] [--csv data.csv --label class] [--device cpu]
#include <algorithm>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "fanin/command_line.h"
#include "fanin/fanin.h"

namespace {

struct Options {
  int classes = 4;
  int epochs = 30;
  float label_smoothing = 0.0f;
  std::string csv, label = "label";
  uint64_t seed = 1;
  std::string device = "auto";
};

Options Parse(int argc, char** argv) {
  Options o;
  CLI::App app(
      "Trains a k-class classifier (sparse categorical cross-entropy) and prints its "
      "accuracy per epoch and its held-out confusion matrix.",
      "classify_blobs");
  fanin::cli::ShowDefaults(app);
  app.add_option("--classes", o.classes, "blobs to draw (ignored with --csv)")
      ->transform(fanin::cli::Integer(2, 1000));
  app.add_option("--epochs", o.epochs, "epochs to train")
      ->transform(fanin::cli::Integer(1, std::numeric_limits<int>::max()));
  app.add_option("--label-smoothing", o.label_smoothing, "Keras's label_smoothing")
      ->check(CLI::Range(0.0f, 1.0f));
  app.add_option("--csv", o.csv,
                 "a CSV file instead of the blobs: numeric features and a label "
                 "column of class indices 0..k-1");
  app.add_option("--label", o.label, "the CSV file's label column");
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
                                  ? fanin::Blobs(o.classes, 2, 200 * o.classes, 1.0, 5.0, o.seed)
                                  : fanin::LoadCsv(o.csv, o.label, fanin::CsvLabels::kClassIndex);
  const std::vector<float> labels = data.y.ToHost();
  const int64_t k = static_cast<int64_t>(*std::max_element(labels.begin(), labels.end())) + 1;
  const fanin::Split split = fanin::TrainTestSplit(data, 0.25, o.seed);

  fanin::Sequential model(fanin::MakeBackend(o.device));
  model.Add(fanin::Dense(32, "relu", "he_uniform"));
  model.Add(fanin::Dense(32, "relu", "he_uniform"));
  model.Add(fanin::Dense(k));  // logits
  model.Compile(fanin::SparseCategoricalCrossEntropy(o.label_smoothing),
                fanin::Adam{.learning_rate = 0.01f});
  model.Build(data.x.cols(), o.seed);
  std::printf("%lld classes, %lld training and %lld held-out samples on %s\n%s\n",
              static_cast<long long>(k), static_cast<long long>(split.train.x.rows()),
              static_cast<long long>(split.test.x.rows()),
              std::string(model.backend().name()).c_str(), model.Summary().c_str());
  model.Fit(split.train.x, split.train.y,
            {.epochs = o.epochs,
             .batch_size = 32,
             .shuffle_seed = o.seed,
             .validation_x = &split.test.x,
             .validation_y = &split.test.y,
             .validation_metrics = true,  // val_macro_f1 per epoch
             .verbose = 2});

  // The held-out metrics (fanin/metrics.h); confusion rows: the true class, columns: the
  // predicted (argmax) one.
  const fanin::ClassificationMetrics m = fanin::Classify(model.Predict(split.test.x), split.test.y);
  std::printf("held out: loss %.4f, accuracy %.4f, macro F1 %.4f\n",
              model.Evaluate(split.test.x, split.test.y).loss, m.accuracy, m.macro_f1);
  std::printf("confusion (row: true class, column: predicted)\n");
  for (int64_t t = 0; t < k; ++t) {
    for (int64_t c = 0; c < k; ++c) {
      std::printf("%6lld", static_cast<long long>(m.confusion[static_cast<size_t>(t * k + c)]));
    }
    std::printf("   precision %.3f, recall %.3f\n", m.precision[static_cast<size_t>(t)],
                m.recall[static_cast<size_t>(t)]);
  }
  return 0;
}
