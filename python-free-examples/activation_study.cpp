// The activation-function study ("Hyper-parameters in Action! Activation Functions"), over
// many seeds instead of the post's single run per activation.
//
//   [mpirun -np N] activation_study [--seeds 30] [--out out/activation_study] [--device auto]
//                                   [--epochs 150]
//
// The two parabolas (2,000 points), a hidden Dense(2, act, glorot_normal) and a Dense(1)
// on logits with normal(0, 0.05) weights (Keras's default random normal), sigmoid + BCE
// fused in the loss, SGD lr 0.05, batch 16, shuffled with the seed. For sigmoid, tanh and
// relu, and each seed, we record when the model first classifies all 2,000 points
// correctly. "100%" is measured as DeepReplay measured it for the post's plots: by
// evaluating the end-of-epoch weights on the whole data set (Keras's running accuracy,
// EpochLogs::accuracy, mixes the weights of the whole epoch and lags behind).
//
// Outputs in --out: epochs_to_100.csv, runs.h5 (per run: the epoch logs with the
// end-of-epoch evaluation as val_loss/val_accuracy, and the weights after every epoch),
// learning_curves.svg and epochs_to_100.svg over all seeds, DeepReplay's five views for
// the first seed at chosen epochs (<activation>_epoch_<e>.svg), and index.html.
// Under mpirun the ranks share the runs and rank 0 writes the same files from the gathered
// results (docs/distributed.md).
// --out is replaced whole once the new report is complete; until then it keeps the previous
// one. An interrupted study (a kill, a full disk) resumes from the runs it had finished
// when the same command is run again (fanin/run_store.h, docs/studies.md).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fanin/distributed.h"
#include "fanin/fanin.h"
#include "fanin/plot.h"
#include "fanin/recorder.h"
#include "fanin/run_store.h"
#include "python-free-examples/study.h"

namespace {

using fanin::plot::QuantilesOf;
using fanin::study::FormatNumber;

constexpr double kLearningRate = 0.05;
constexpr int64_t kBatchSize = 16;
const std::vector<std::string> kActivations = {"sigmoid", "tanh", "relu"};
// The post's single runs reached 100% after about these many epochs.
const std::vector<int> kPostEpochs = {103, 69, 52};
// Epochs at which the first seed's views are drawn (those within --epochs), plus the
// epoch it first reaches 100%.
const std::vector<int> kViewEpochs = {0, 10, 25, 50, 100, 150};

// Colors of the post: negative cases blue, positive green, misclassified red.
const fanin::plot::Color kNegative = "#1f77b4";
const fanin::plot::Color kPositive = "#2ca02c";
const fanin::plot::Color kWrong = "#d62728";

// The input region shown by the views, a little larger than the data's.
constexpr double kX1Lo = -1.1, kX1Hi = 1.1, kX2Lo = -0.6, kX2Hi = 1.1;

fanin::Sequential BuildModel(const std::shared_ptr<fanin::Backend>& backend,
                             const std::string& activation, uint64_t seed) {
  fanin::Sequential model(backend);
  model.Add(fanin::Dense(2, activation, "glorot_normal"));
  model.Add(fanin::Dense(1, "linear", "normal(0,0.05)"));
  model.Compile(fanin::BinaryCrossEntropy{},
                fanin::Sgd{.learning_rate = static_cast<float>(kLearningRate)});
  model.Build(2, seed);
  return model;
}

std::vector<double> Linspace(double lo, double hi, int n) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(lo + (hi - lo) * i / (n - 1));
  return v;
}

fanin::Tensor PointsTensor(const std::shared_ptr<fanin::Backend>& backend,
                           const std::vector<double>& x1, const std::vector<double>& x2) {
  std::vector<float> values;
  for (size_t i = 0; i < x1.size(); ++i) {
    values.push_back(static_cast<float>(x1[i]));
    values.push_back(static_cast<float>(x2[i]));
  }
  return fanin::Tensor::FromHost(backend, {static_cast<int64_t>(x1.size()), 2}, values);
}

// Everything the five views need from one epoch of one run.
struct Snapshot {
  int epoch = 0;
  // Feature space: the data and the input grid's lines through the hidden layer.
  std::vector<float> data_features;             // [n x 2]
  std::vector<std::vector<float>> grid_lines;   // each [points x 2]
  float w1 = 0, w2 = 0, b = 0;                  // output logit = w1 a1 + w2 a2 + b
  std::vector<float> input_grid_probabilities;  // [rows x cols] over the input region
  std::vector<float> probabilities;             // per data point
};

constexpr int kGridCols = 56, kGridRows = 44;  // decision-boundary cells
constexpr int kGridLines = 11, kGridLinePoints = 60;

Snapshot TakeSnapshot(fanin::Sequential& model, const fanin::Tensor& x, int epoch) {
  Snapshot s;
  s.epoch = epoch;
  const auto& backend = model.backend_ptr();
  fanin::Layer& hidden = model.layer(0);
  s.data_features = hidden.Forward(x).ToHost();
  // Lines of constant x1 and of constant x2 over the input region, mapped through the
  // hidden layer: the twisted grid of the post.
  for (int axis = 0; axis < 2; ++axis) {
    for (double c : Linspace(axis == 0 ? kX1Lo : kX2Lo, axis == 0 ? kX1Hi : kX2Hi, kGridLines)) {
      const std::vector<double> along =
          Linspace(axis == 0 ? kX2Lo : kX1Lo, axis == 0 ? kX2Hi : kX1Hi, kGridLinePoints);
      const std::vector<double> constant(along.size(), c);
      const fanin::Tensor points = axis == 0 ? PointsTensor(backend, constant, along)
                                             : PointsTensor(backend, along, constant);
      s.grid_lines.push_back(hidden.Forward(points).ToHost());
    }
  }
  const fanin::LayerTensors output = model.layer(1).tensors();
  const std::vector<float> w = output.kernel->ToHost(), b = output.bias->ToHost();
  s.w1 = w[0];
  s.w2 = w[1];
  s.b = b[0];
  std::vector<double> x1, x2;
  for (int r = 0; r < kGridRows; ++r) {
    for (int c = 0; c < kGridCols; ++c) {
      x1.push_back(kX1Lo + (kX1Hi - kX1Lo) * (c + 0.5) / kGridCols);
      x2.push_back(kX2Lo + (kX2Hi - kX2Lo) * (r + 0.5) / kGridRows);
    }
  }
  s.input_grid_probabilities = model.Predict(PointsTensor(backend, x1, x2)).ToHost();
  s.probabilities = model.Predict(x).ToHost();
  return s;
}

// BCE of one probability, clipped like Keras so that a confident mistake stays finite.
double SampleLoss(float p, float y) {
  const double q = std::clamp(static_cast<double>(p), 1e-7, 1 - 1e-7);
  return y > 0.5f ? -std::log(q) : -std::log(1 - q);
}

// A histogram drawn as a filled step curve.
fanin::plot::Band StepHistogram(const std::vector<double>& values, double lo, double hi, int bins,
                                const std::string& label, const fanin::plot::Color& color) {
  std::vector<double> counts(static_cast<size_t>(bins), 0.0);
  for (double v : values) {
    const int bin = std::clamp(static_cast<int>((v - lo) / (hi - lo) * bins), 0, bins - 1);
    counts[static_cast<size_t>(bin)] += 1;
  }
  fanin::plot::Band band{.label = label, .color = color, .opacity = 0.6};
  for (int i = 0; i < bins; ++i) {
    for (double edge : {lo + (hi - lo) * i / bins, lo + (hi - lo) * (i + 1) / bins}) {
      band.x.push_back(edge);
      band.lower.push_back(0);
      band.upper.push_back(counts[static_cast<size_t>(i)]);
    }
  }
  return band;
}

// 1 - p: the backgrounds map it through red-blue, so y = 0 regions are blue like the
// negative points, y = 1 regions red, and the boundary (p = 0.5) white.
std::vector<double> Complement(const std::vector<float>& probabilities) {
  std::vector<double> values;
  for (float p : probabilities) values.push_back(1.0 - p);
  return values;
}

struct Curves {
  std::vector<double> loss, accuracy;  // index e: after e epochs (0 = initialization)
};

void SaveViews(const Snapshot& s, const fanin::Dataset& data, const Curves& curves, int epochs,
               const std::string& activation, const std::string& path) {
  const std::vector<float> y = data.y.ToHost();
  const size_t n = y.size();
  fanin::plot::Figure figure(
      {.rows = 2,
       .cols = 3,
       .title = activation + ", seed 0, after epoch " + std::to_string(s.epoch),
       .plot_width = 300,
       .plot_height = 220});
  // Every 4th point is plenty to show the two curves and keeps the SVG small.
  constexpr size_t kStride = 4;

  fanin::plot::Axes& features = figure.At(0, 0);
  features.title = "Feature space (hidden layer)";
  features.x_label = "a1";
  features.y_label = "a2";
  double lo1 = INFINITY, hi1 = -INFINITY, lo2 = INFINITY, hi2 = -INFINITY;
  for (const auto& line : s.grid_lines) {
    for (size_t i = 0; i < line.size(); i += 2) {
      lo1 = std::min<double>(lo1, line[i]);
      hi1 = std::max<double>(hi1, line[i]);
      lo2 = std::min<double>(lo2, line[i + 1]);
      hi2 = std::max<double>(hi2, line[i + 1]);
    }
  }
  // A 4% margin around the grid's image, and a visible region even when the feature
  // space collapses (dead ReLU units map everything to one line or point).
  const double pad1 = std::max(0.04 * (hi1 - lo1), 1e-3), pad2 = std::max(0.04 * (hi2 - lo2), 1e-3);
  lo1 -= pad1;
  hi1 += pad1;
  lo2 -= pad2;
  hi2 += pad2;
  fanin::plot::Grid background{
      .x_edges = Linspace(lo1, hi1, 41), .y_edges = Linspace(lo2, hi2, 41), .opacity = 0.5};
  std::vector<float> probabilities;  // of the output layer over the feature-space cells
  for (int r = 0; r < 40; ++r) {
    for (int c = 0; c < 40; ++c) {
      const double a1 = (background.x_edges[c] + background.x_edges[c + 1]) / 2;
      const double a2 = (background.y_edges[r] + background.y_edges[r + 1]) / 2;
      probabilities.push_back(
          static_cast<float>(1 / (1 + std::exp(-(s.w1 * a1 + s.w2 * a2 + s.b)))));
    }
  }
  background.values = Complement(probabilities);
  features.Add(background);
  for (const auto& line : s.grid_lines) {
    fanin::plot::Line l{.color = "#888888", .width = 0.6};
    for (size_t i = 0; i < line.size(); i += 2) {
      l.x.push_back(line[i]);
      l.y.push_back(line[i + 1]);
    }
    features.Add(l);
  }
  fanin::plot::Scatter negative{.label = "y = 0", .color = kNegative, .radius = 1.8};
  fanin::plot::Scatter positive{.label = "y = 1", .color = kPositive, .radius = 1.8};
  for (size_t i = 0; i < n; i += kStride) {
    auto& target = y[i] > 0.5f ? positive : negative;
    target.x.push_back(s.data_features[2 * i]);
    target.y.push_back(s.data_features[2 * i + 1]);
  }
  features.Add(negative).Add(positive);
  if (std::abs(s.w2) > 1e-12) {  // the boundary w1 a1 + w2 a2 + b = 0
    features.Add(fanin::plot::Line{.x = {lo1, hi1},
                                   .y = {-(s.w1 * lo1 + s.b) / s.w2, -(s.w1 * hi1 + s.b) / s.w2},
                                   .label = "boundary",
                                   .color = "#000000"});
  }
  features.x_min = lo1;
  features.x_max = hi1;
  features.y_min = lo2;
  features.y_max = hi2;

  fanin::plot::Axes& boundary = figure.At(0, 1);
  boundary.title = "Decision boundary (input space)";
  boundary.x_label = "x1";
  boundary.y_label = "x2";
  boundary.Add(fanin::plot::Grid{.x_edges = Linspace(kX1Lo, kX1Hi, kGridCols + 1),
                                 .y_edges = Linspace(kX2Lo, kX2Hi, kGridRows + 1),
                                 .values = Complement(s.input_grid_probabilities),
                                 .opacity = 0.6});
  const std::vector<float> x = data.x.ToHost();
  fanin::plot::Scatter input_negative{.label = "y = 0", .color = kNegative, .radius = 1.8};
  fanin::plot::Scatter input_positive{.label = "y = 1", .color = kPositive, .radius = 1.8};
  for (size_t i = 0; i < n; i += kStride) {
    auto& target = y[i] > 0.5f ? input_positive : input_negative;
    target.x.push_back(x[2 * i]);
    target.y.push_back(x[2 * i + 1]);
  }
  boundary.Add(input_negative).Add(input_positive);
  boundary.x_min = kX1Lo;
  boundary.x_max = kX1Hi;
  boundary.y_min = kX2Lo;
  boundary.y_max = kX2Hi;

  fanin::plot::Axes& progress = figure.At(0, 2);
  progress.title = "Loss and accuracy (all points)";
  progress.x_label = "epoch";
  progress.x_min = 0;
  progress.x_max = epochs;
  // The whole run's range, so that every epoch's view of one run shares its axes.
  progress.y_min = 0;
  progress.y_max = 1.05 * std::max(1.0, *std::max_element(curves.loss.begin(), curves.loss.end()));
  fanin::plot::Line loss{.label = "loss", .color = "#ff7f0e"};
  fanin::plot::Line accuracy{.label = "accuracy", .color = "#9467bd"};
  for (int e = 0; e <= s.epoch; ++e) {
    loss.x.push_back(e);
    loss.y.push_back(curves.loss[static_cast<size_t>(e)]);
    accuracy.x.push_back(e);
    accuracy.y.push_back(curves.accuracy[static_cast<size_t>(e)]);
  }
  // The current epoch's values as dots, so that epoch 0's single point shows too.
  progress.Add(loss).Add(accuracy);
  progress.Add(
      fanin::plot::Scatter{.x = {static_cast<double>(s.epoch), static_cast<double>(s.epoch)},
                           .y = {loss.y.back(), accuracy.y.back()},
                           .colors = {loss.color, accuracy.color},
                           .radius = 3.5,
                           .opacity = 1});

  // Probability histograms per class, misclassified cases (threshold 0.5) in red.
  for (int cls = 0; cls < 2; ++cls) {
    fanin::plot::Axes& ax = figure.At(1, cls);
    ax.title = cls == 0 ? "Probabilities, negative cases" : "Probabilities, positive cases";
    ax.x_label = "P(y = 1)";
    ax.y_label = "points";
    std::vector<double> right, wrong;
    for (size_t i = 0; i < n; ++i) {
      if ((y[i] > 0.5f) != (cls == 1)) continue;
      const bool correct = (s.probabilities[i] > 0.5f) == (cls == 1);
      (correct ? right : wrong).push_back(s.probabilities[i]);
    }
    ax.Add(StepHistogram(right, 0, 1, 20, "correct", cls == 0 ? kNegative : kPositive));
    ax.Add(StepHistogram(wrong, 0, 1, 20, "misclassified", kWrong));
    ax.x_min = 0;
    ax.x_max = 1;
  }

  fanin::plot::Axes& losses = figure.At(1, 2);
  losses.title = "Loss per point";
  losses.x_label = "binary cross-entropy";
  losses.y_label = "points";
  std::vector<double> sample_losses;
  for (size_t i = 0; i < n; ++i) sample_losses.push_back(SampleLoss(s.probabilities[i], y[i]));
  const double hi = std::max(1.0, *std::max_element(sample_losses.begin(), sample_losses.end()));
  losses.Add(StepHistogram(sample_losses, 0, hi, 30, "", "#7f7f7f"));
  losses.legend = fanin::plot::LegendPosition::kNone;
  figure.Save(path);
}

// Per activation: the runs of all seeds.
struct ActivationResult {
  std::vector<std::optional<int>> epoch_100;  // per seed; empty when never reached
  std::vector<double> final_loss;
  std::vector<Curves> curves;
  std::vector<Snapshot> snapshots;  // the first seed's, at the view epochs
};

void SaveEpochsTo100Figure(const std::vector<ActivationResult>& results, int seeds,
                           const std::string& path) {
  fanin::plot::Figure figure({.title = "Epochs until all 2,000 points are classified "
                                       "correctly, over " +
                                       std::to_string(seeds) + " seeds",
                              .plot_width = 420,
                              .plot_height = 260});
  fanin::plot::Axes& ax = figure.At(0, 0);
  ax.y_label = "epochs to 100% accuracy";
  ax.x_label = "activation (seeds that reached 100%)";
  fanin::plot::Boxes boxes{.label = "p10, p25, median, p75, p90"};
  fanin::plot::Scatter seeds_points{
      .label = "one seed", .color = "#444444", .radius = 2, .opacity = 0.5};
  fanin::plot::Scatter post{
      .label = "the post's single run", .color = kWrong, .radius = 4, .opacity = 1};
  for (size_t a = 0; a < results.size(); ++a) {
    std::vector<double> reached;
    for (size_t s = 0; s < results[a].epoch_100.size(); ++s) {
      if (!results[a].epoch_100[s]) continue;
      reached.push_back(*results[a].epoch_100[s]);
      // A small deterministic horizontal spread so that equal values stay visible.
      seeds_points.x.push_back(static_cast<double>(a) + 0.3 + 0.02 * static_cast<double>(s % 5));
      seeds_points.y.push_back(reached.back());
    }
    ax.categories.push_back(kActivations[a] + " (" + std::to_string(reached.size()) + "/" +
                            std::to_string(seeds) + ")");
    boxes.data.push_back(QuantilesOf(reached));
    post.x.push_back(static_cast<double>(a));
    post.y.push_back(kPostEpochs[a]);
  }
  ax.Add(boxes).Add(seeds_points).Add(post);
  figure.Save(path);
}

void SaveLearningCurvesFigure(const std::vector<ActivationResult>& results, int epochs,
                              const std::string& path) {
  fanin::plot::Figure figure({.cols = 2,
                              .title = "Loss and accuracy on all points after each epoch: "
                                       "median and 10th-90th percentile over seeds",
                              .plot_width = 380,
                              .plot_height = 240});
  for (int panel = 0; panel < 2; ++panel) {
    fanin::plot::Axes& ax = figure.At(0, panel);
    ax.title = panel == 0 ? "Loss" : "Accuracy";
    ax.x_label = "epoch";
    ax.y_label = panel == 0 ? "binary cross-entropy" : "accuracy";
    for (size_t a = 0; a < results.size(); ++a) {
      const fanin::plot::Color color = fanin::plot::PaletteColor(a);
      fanin::plot::Band band{.color = color, .opacity = 0.2};
      fanin::plot::Line median{.label = kActivations[a], .color = color};
      for (int e = 0; e <= epochs; ++e) {
        std::vector<double> values;
        for (const Curves& c : results[a].curves) {
          values.push_back(panel == 0 ? c.loss[static_cast<size_t>(e)]
                                      : c.accuracy[static_cast<size_t>(e)]);
        }
        fanin::plot::AppendPercentiles(e, QuantilesOf(values), band, median);
      }
      ax.Add(band).Add(median);
    }
  }
  figure.Save(path);
}

// One run's results: everything root needs to record the run and write the report.
struct RunResult {
  std::string device;  // the backend that ran it, which may be another rank's
  Curves curves;
  std::vector<fanin::EpochLogs> epochs;     // with the end-of-epoch evaluation as val_*
  std::vector<std::vector<float>> weights;  // parameters() at initialization, after each epoch
  std::optional<int> epoch_100;
  std::vector<Snapshot> snapshots;  // seed 0 only
};

void Put(fanin::study::Encoder& encoder, const Snapshot& s) {
  encoder.Put(s.epoch);
  encoder.Put(s.data_features);
  encoder.Put(s.grid_lines);
  encoder.Put(s.w1);
  encoder.Put(s.w2);
  encoder.Put(s.b);
  encoder.Put(s.input_grid_probabilities);
  encoder.Put(s.probabilities);
}

void Get(fanin::study::Decoder& decoder, Snapshot& s) {
  decoder.Get(s.epoch);
  decoder.Get(s.data_features);
  decoder.Get(s.grid_lines);
  decoder.Get(s.w1);
  decoder.Get(s.w2);
  decoder.Get(s.b);
  decoder.Get(s.input_grid_probabilities);
  decoder.Get(s.probabilities);
}

std::string Encode(const RunResult& result) {
  fanin::study::Encoder encoder;
  encoder.Put(result.device);
  encoder.Put(result.curves.loss);
  encoder.Put(result.curves.accuracy);
  encoder.Put(result.epochs);
  encoder.Put(result.weights);
  encoder.Put(result.epoch_100.value_or(0));  // epochs count from 1: 0 means never
  encoder.Put(static_cast<uint64_t>(result.snapshots.size()));
  for (const Snapshot& s : result.snapshots) Put(encoder, s);
  return encoder.bytes();
}

RunResult Decode(const std::string& bytes) {
  fanin::study::Decoder decoder(bytes);
  RunResult result;
  decoder.Get(result.device);
  decoder.Get(result.curves.loss);
  decoder.Get(result.curves.accuracy);
  decoder.Get(result.epochs);
  decoder.Get(result.weights);
  if (const int epoch = decoder.Next<int>(); epoch > 0) result.epoch_100 = epoch;
  result.snapshots.resize(decoder.Next<uint64_t>());
  for (Snapshot& s : result.snapshots) Get(decoder, s);
  return result;
}

RunResult RunOne(const std::shared_ptr<fanin::Backend>& backend, const fanin::Tensor& x,
                 const fanin::Tensor& y, const std::string& activation, int seed, int epochs) {
  fanin::Sequential model = BuildModel(backend, activation, static_cast<uint64_t>(seed));
  RunResult result{.device = backend->Describe()};
  result.weights.push_back(model.parameters().ToHost());
  const fanin::Evaluation initial = model.Evaluate(x, y);
  result.curves.loss.push_back(initial.loss);
  result.curves.accuracy.push_back(initial.accuracy);
  const bool views = seed == 0;
  const std::set<int> view_epochs(kViewEpochs.begin(), kViewEpochs.end());
  if (views) result.snapshots.push_back(TakeSnapshot(model, x, 0));

  fanin::FitOptions fit{
      .epochs = epochs, .batch_size = kBatchSize, .shuffle_seed = static_cast<uint64_t>(seed)};
  fit.on_epoch_end = [&](const fanin::EpochLogs& logs) {
    const int epoch = logs.epoch + 1;  // epochs trained so far
    const fanin::Evaluation e = model.Evaluate(x, y);
    result.curves.loss.push_back(e.loss);
    result.curves.accuracy.push_back(e.accuracy);
    fanin::EpochLogs recorded = logs;
    recorded.val_loss = e.loss;
    recorded.val_accuracy = e.accuracy;
    result.epochs.push_back(recorded);
    result.weights.push_back(model.parameters().ToHost());
    const bool first_100 = !result.epoch_100 && e.accuracy == 1.0;
    if (first_100) result.epoch_100 = epoch;
    if (views && (first_100 || view_epochs.count(epoch))) {
      result.snapshots.push_back(TakeSnapshot(model, x, epoch));
    }
    return true;
  };
  model.Fit(x, y, fit);
  return result;
}

// Writes one run's group of runs.h5, in the order a run that records as it goes would.
void RecordRun(fanin::Recorder& recorder, const std::shared_ptr<fanin::Backend>& backend,
               const std::string& activation, int seed, int epochs, const RunResult& result) {
  fanin::RunWriter run = recorder.CreateRun(activation + "/seed_" + std::to_string(seed),
                                            {{"activation", activation},
                                             {"initializer", std::string("glorot_normal")},
                                             {"output_initializer", std::string("normal(0,0.05)")},
                                             {"seed", int64_t{seed}},
                                             {"data", std::string("Parabola(1000)")},
                                             {"optimizer", std::string("sgd")},
                                             {"learning_rate", kLearningRate},
                                             {"batch_size", kBatchSize},
                                             {"epochs", int64_t{epochs}},
                                             {"device", result.device}},
                                            {.expected_steps = epochs + 1});
  // A model of the run's shape to hold each recorded epoch's weights: RunWriter reads the
  // layers' kernels and biases, views into parameters().
  fanin::Sequential model = BuildModel(backend, activation, static_cast<uint64_t>(seed));
  fanin::Tensor parameters = model.parameters();
  run.WriteModel(model, {"hidden", "output"});
  parameters.CopyFromHost(result.weights[0]);
  run.AppendWeights(0, model);
  for (size_t e = 0; e < result.epochs.size(); ++e) {
    run.AppendEpoch(result.epochs[e]);
    parameters.CopyFromHost(result.weights[e + 1]);
    run.AppendWeights(static_cast<int>(e) + 1, model);
  }
}

// The study on every rank; root writes the report. Returns the exit code.
int Study(const fanin::distributed::World& world, const fanin::study::Options& options, int argc,
          char** argv) {
  const auto start = std::chrono::steady_clock::now();
  // The backend first: a bad --device fails before anything in --out is touched.
  const std::shared_ptr<fanin::Backend> backend = fanin::MakeBackend(options.device);
  // Root alone writes, into a staging directory that replaces --out when the report is
  // complete, journaling each run so that an interrupted study resumes (fanin/run_store.h).
  std::optional<fanin::RunStore> store;
  if (world.is_root()) {
    store.emplace(options.out, fanin::study::ResultKey("activation_study", options, *backend));
  }
  const fanin::Dataset data = fanin::Parabola(1000);
  const fanin::Tensor x = data.x.To(backend), y = data.y.To(backend);

  // Run i is activation i / seeds, seed i % seeds: the order of a single process, which
  // root records the runs in.
  const std::vector<std::string> encoded = fanin::study::RunOverRanks(
      world, options.seeds * std::ssize(kActivations), "activation_study",
      [&](int64_t i) {
        return Encode(RunOne(backend, x, y, kActivations[static_cast<size_t>(i / options.seeds)],
                             static_cast<int>(i % options.seeds), options.epochs));
      },
      store ? &*store : nullptr);
  if (!world.is_root()) return 0;
  const std::string out = store->dir() + "/";
  // Written whole from the gathered runs, in index order, so that its bytes depend neither
  // on the ranks nor on where an interrupted attempt stopped.
  std::optional<fanin::Recorder> recorder(std::in_place, out + "runs.h5",
                                          fanin::FileMode::kTruncate);

  std::vector<ActivationResult> results(kActivations.size());
  for (int64_t i = 0; i < std::ssize(encoded); ++i) {
    const size_t a = static_cast<size_t>(i / options.seeds);
    const int seed = static_cast<int>(i % options.seeds);
    RunResult result = Decode(encoded[static_cast<size_t>(i)]);
    RecordRun(*recorder, backend, kActivations[a], seed, options.epochs, result);
    results[a].epoch_100.push_back(result.epoch_100);
    results[a].final_loss.push_back(result.curves.loss.back());
    results[a].curves.push_back(std::move(result.curves));
    if (seed == 0) results[a].snapshots = std::move(result.snapshots);
  }

  fanin::study::CsvTable table({"activation", "seed", "epoch_100pct", "final_loss"});
  for (size_t a = 0; a < kActivations.size(); ++a) {
    for (int s = 0; s < options.seeds; ++s) {
      const std::optional<int>& e = results[a].epoch_100[static_cast<size_t>(s)];
      table.AddRow({kActivations[a], std::to_string(s), e ? std::to_string(*e) : "",
                    FormatNumber(results[a].final_loss[static_cast<size_t>(s)], 6)});
    }
  }
  table.Save(out + "epochs_to_100.csv");
  SaveEpochsTo100Figure(results, options.seeds, out + "epochs_to_100.svg");
  SaveLearningCurvesFigure(results, options.epochs, out + "learning_curves.svg");
  for (size_t a = 0; a < kActivations.size(); ++a) {
    for (const Snapshot& s : results[a].snapshots) {
      SaveViews(s, data, results[a].curves[0], options.epochs, kActivations[a],
                out + kActivations[a] + "_epoch_" + std::to_string(s.epoch) + ".svg");
    }
  }

  std::string command = "activation_study";
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
  fanin::plot::Report report("Activation functions: how fast each one separates the parabolas");
  report.Paragraph(
      "Command: " + command + ". " + std::to_string(options.seeds) + " seeds per activation on " +
      backend->Describe() +
      (world.size() > 1 ? " x " + std::to_string(world.size()) + " MPI ranks" : "") +
      // No elapsed time in the report, so that the same command gives the same bytes (also
      // when it resumed): it goes to stdout.
      ". Model: Dense(2, activation, glorot_normal), Dense(1) with normal(0, 0.05) weights, "
      "sigmoid + binary cross-entropy; SGD lr 0.05, batch 16, " +
      std::to_string(options.epochs) +
      " epochs, shuffled with the seed; seed s draws the weights and the shuffles. Accuracy "
      "and loss are evaluated on all 2,000 points with the weights at the end of each epoch, "
      "as DeepReplay computed them for the post.");
  report.Link("epochs_to_100.csv", "epochs_to_100.csv")
      .Link("runs.h5",
            "runs.h5 (every run, "
            "with weights per epoch)");
  report.Heading("Epochs to 100% accuracy");
  std::vector<std::vector<std::string>> summary = {{"activation", "seeds reaching 100%",
                                                    "median epoch", "p10", "p90",
                                                    "the post (one run)", "median final loss"}};
  for (size_t a = 0; a < kActivations.size(); ++a) {
    std::vector<double> reached;
    for (const auto& e : results[a].epoch_100) {
      if (e) reached.push_back(*e);
    }
    const fanin::plot::Quantiles q = QuantilesOf(reached);
    summary.push_back({kActivations[a],
                       std::to_string(reached.size()) + " of " + std::to_string(options.seeds),
                       FormatNumber(q.median, 3), FormatNumber(q.p10, 3), FormatNumber(q.p90, 3),
                       std::to_string(kPostEpochs[a]),
                       FormatNumber(QuantilesOf(results[a].final_loss).median, 3)});
  }
  report.Table(summary);
  // Where the post's single run falls among ours.
  std::string against_post = "The post's single runs against these seeds:";
  for (size_t a = 0; a < kActivations.size(); ++a) {
    int earlier = 0;
    for (const auto& e : results[a].epoch_100) earlier += e && *e < kPostEpochs[a];
    against_post += " " + kActivations[a] + " reached 100% after " +
                    std::to_string(kPostEpochs[a]) + " epochs, later than " +
                    std::to_string(earlier) + " of our " + std::to_string(options.seeds) +
                    " seeds;";
  }
  against_post.back() = '.';
  report.Paragraph(against_post);
  report.Image("epochs_to_100.svg",
               "Boxes: 10th, 25th, 50th, 75th and 90th percentile over the "
               "seeds that reached 100%; red: the post's single run.");
  report.Image("learning_curves.svg", "Loss and accuracy on all points after each epoch.");
  for (size_t a = 0; a < kActivations.size(); ++a) {
    report.Heading(kActivations[a] + ": DeepReplay's views for seed 0");
    report.Paragraph(
        "Feature space: the hidden layer's two activations, with the input grid's lines "
        "carried through it and the output's linear boundary; the background is the model's "
        "prediction (blue for y = 0, red for y = 1, white at P = 0.5). Decision boundary: the same "
        "probability over "
        "the input space. Probability histograms per class with misclassified points in red, "
        "loss and accuracy so far, and the histogram of the per-point losses.");
    for (const Snapshot& s : results[a].snapshots) {
      const std::string name = kActivations[a] + "_epoch_" + std::to_string(s.epoch) + ".svg";
      report.Image(name, kActivations[a] + " after epoch " + std::to_string(s.epoch));
    }
  }
  report.Save(out + "index.html");
  recorder.reset();  // closed before the swap
  store->Commit();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "activation_study: %d seeds x %zu activations in %.1f s (%zu runs reused); report "
      "in %s/index.html\n",
      options.seeds, kActivations.size(), seconds, store->completed().size(), options.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return fanin::study::StudyMain(
      argc, argv, "activation_study", {.out = "out/activation_study", .epochs = 150},
      /*min_epochs=*/1,
      [&](const fanin::distributed::World& world, const fanin::study::Options& options) {
        return Study(world, options, argc, argv);
      });
}
