// Experiments as data: a TOML spec declares the data, the model, the training, a grid of
// configurations, the seeds and what to measure; RunExperiment runs every (configuration,
// seed) and writes a tidy results table (docs/experiments.md is the spec reference).
//
//   fanin::experiment::Spec spec = fanin::experiment::LoadSpec("experiments/init_study.toml");
//   std::printf("%s", fanin::experiment::CheckText(spec).c_str());
//   fanin::distributed::World world;
//   fanin::experiment::RunExperiment(world, spec, {.out = "out/init"});
//
// Built on the studies' helpers (study.h): the split of the runs over MPI ranks, the
// resumable RunStore journal, the CSV tables.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fanin/backend.h"
#include "fanin/distributed.h"
#include "fanin/model.h"
#include "fanin/run_store.h"
#include "fanin/step_stats.h"

namespace fanin::experiment {

// A spec that cannot be run. The message starts with "FILE:LINE:COL: " where the spec
// has a place for the problem (a missing file names only the file).
class SpecError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// The data set. "ball", "blobs" and "regression" are drawn from each run's seed;
// "parabola" and "csv" are the same for every seed (the seed still draws the weights and the
// shuffles).
struct DataSpec {
  std::string kind = "ball";  // "ball", "blobs", "regression", "parabola" or "csv"
  int64_t dims = 10;          // parabola: 2; csv: the file's features
  int64_t points = 1000;      // csv: the file's rows
  int64_t classes = 3;        // blobs (fanin::Blobs, spread 1, centers in [-5, 5])
  double noise = 0.1;         // regression (fanin::Regression)
  std::string path;           // csv: the file, relative to the spec's folder unless absolute
  std::string label_column = "label";  // csv
  size_t content_hash = 0;             // csv: of the file's bytes, in the results' key
};

// The model's loss (a registered name, fanin/loss.h) and its output units, which the loss
// and the data fix: binary_crossentropy 1 logit (ball, parabola, csv), sparse_categorical_
// crossentropy one logit per class (blobs), mean_squared_error or mean_absolute_error 1
// linear output (regression, or any 0/1 labels).
struct ModelSpec {
  std::string loss = "binary_crossentropy";
  int64_t output_units = 1;
  // The loss's metric_name(): "accuracy" for the cross-entropies, the other error for the
  // regression losses; what the epochs' metric rows and the outcomes read.
  std::string metric = "accuracy";
};

// How a configuration's statistics are measured.
struct MeasureSpec {
  bool init = true;      // before any update
  int every_epochs = 0;  // also after every N-th epoch (0: never)
  // Training steps 0, N, 2N, ... measured by the step itself (fused statistics of its
  // mini-batch, with the update: update_ratio); 0: none.
  int64_t every_steps = 0;
  bool full = true;  // on all points (else on the first batch_size points)
  std::vector<std::string> statistics = {"grad_ratio", "z_std", "activation_std", "kernel_std",
                                         "kernel_grad_std"};
  int histogram_bins = 64;  // kept in runs.h5
  // The tensors ("z", "activation", "kernel", ...) whose histograms also go to results.csv:
  // TENSOR_hist_lo, TENSOR_hist_hi and the counts TENSOR_hist_0 ... per measurement and layer.
  std::vector<std::string> histograms;
  // Training outcomes: after every epoch, the end-of-epoch weights evaluated on all points
  // (loss and accuracy); a target implies it. Epochs to a target count from 1 and are
  // infinite where a run does not reach it.
  bool evaluate = false;
  // Every run's parameters at initialization and after every epoch, in runs.h5 (a layer's
  // kernel and bias per epoch) and in RunRecord::weights: the replay of a small model.
  bool weights = false;
  std::optional<double> target_accuracy;  // epochs_to_accuracy: accuracy >= this
  std::optional<double> target_loss;      // epochs_to_loss: loss <= this
};

// One configuration: everything a run needs besides its seed.
struct Config {
  std::string name;
  std::string activation = "relu";
  std::string initializer = "glorot_uniform";  // as Initializer::FromName reads it
  std::string output_initializer;              // of the output layer; "": `initializer`
  std::vector<int64_t> widths;                 // the hidden layers; one output unit follows
  std::string shape;                           // how the widths were made ("" when explicit)
  double radius_fraction = 0.5;
  std::string optimizer = "sgd";  // "sgd" or "adam" (Keras's defaults besides the rate)
  double learning_rate = 0.01;
  double momentum = 0.0;  // sgd only
  bool nesterov = false;  // sgd with a momentum only
  double l2 = 0.0;        // Keras's kernel_regularizer=l2(l2) on every kernel, either optimizer
  int64_t batch_size = 32;
  int epochs = 0;
  bool batch_norm = false;  // a BatchNormalization after each hidden Dense layer
  double dropout = 0.0;     // a Dropout(rate) after each hidden layer (after its batch norm)
};

// Configurations compared layer by layer at each measurement, over seeds: the ratio of
// their medians and P(a > b) (init_study's verdict tables).
struct CompareSpec {
  std::string statistic = "grad_ratio";
  std::vector<std::pair<std::string, std::string>> pairs;  // (a, b) configuration names
};

struct Spec {
  std::string path;  // the file it came from
  std::string text;  // its content, shown in the report
  std::string name;
  int seeds = 10;
  DataSpec data;
  ModelSpec model;
  MeasureSpec measure;
  std::vector<Config> configs;  // the grid, expanded, in run order
  CompareSpec compare;
};

// Parses and validates a spec. Throws SpecError naming the file, line and column: an
// unknown key (suggesting the closest valid one), a wrong type, an out-of-range value, an
// empty grid, an unknown activation or initializer, a data kind not supported yet.
Spec ParseSpec(std::string_view text, const std::string& path);
// ParseSpec of the file's content; a missing or unreadable file throws SpecError too.
Spec LoadSpec(const std::string& path);

// The widths of a named shape's hidden layers: "block" (depth x width), "funnel" (from
// width down to width/depth in equal steps) or "hourglass" (narrowing to width/depth in the
// middle and widening back). Throws SpecError for another name, depth < 1 or width < 1.
std::vector<int64_t> ShapeWidths(std::string_view shape, int64_t depth, int64_t width);

// What `fanin_experiment check` prints: the grid's size (configurations x seeds = runs),
// every configuration, and an estimate of the work.
std::string CheckText(const Spec& spec);
// Floating-point operations of one run: 6 per weight and sample for a forward and backward
// pass (2 forward, 4 backward), over the measurements and the training steps, and 2 per
// weight and sample for the end-of-epoch evaluations. An upper bound for a run that diverges.
double RunFlops(const Spec& spec, const Config& config);

struct RunOptions {
  std::string out;              // the output directory (fanin::RunStore: staged, swapped in)
  std::string device = "auto";  // cpu, cuda or auto
  // Called with each run's index before it starts. An exception thrown there ends the
  // experiment as a kill would, the runs finished so far journaled for a resume: what the
  // tests use to interrupt one.
  std::function<void(int64_t)> before_run;
};

// One run's results: its measurements at initialization and after epochs (context.epoch:
// the epochs trained before it), its training steps' (measure.every_steps), its epochs' logs
// (with the end-of-epoch evaluation as val_* when measure.evaluate), and the optimizer steps
// taken when its loss stopped being finite (-1: it did not).
struct RunRecord {
  std::string device;  // the backend that ran it
  std::vector<StepStats> measurements;
  std::vector<StepStats> step_measurements;
  std::vector<EpochLogs> epochs;
  int64_t diverged_step = -1;
  // measure.evaluate: the initial weights on all points (epoch 0 of a training curve; not
  // in results.csv, whose outcomes are of the trained weights).
  std::optional<Evaluation> initial;
  // measure.weights: parameters() at initialization and after each epoch.
  std::vector<std::vector<float>> weights;
};

// A configuration's model, built and compiled from `seed` (the weights of run seed `seed`).
Sequential BuildModel(const std::shared_ptr<Backend>& backend, const Spec& spec, const Config& c,
                      uint64_t seed);

// Runs every (configuration, seed) of `spec` over the ranks of `world` (run i is
// configuration i % C, seed i / C), journaled in `store` (root's; null elsewhere) so that
// an interrupted attempt resumes; `label` names the progress line. On root returns
// runs[configuration][seed]; elsewhere nothing. What RunExperiment writes its files from,
// and what a program with its own report (init_study) builds on.
std::vector<std::vector<RunRecord>> RunAll(const distributed::World& world, const Spec& spec,
                                           const std::shared_ptr<Backend>& backend, RunStore* store,
                                           const std::string& label,
                                           const std::function<void(int64_t)>& before_run = {});

struct RunSummary {
  int64_t runs = 0;
  int64_t reused = 0;    // recorded by an interrupted attempt, not run again
  int64_t diverged = 0;  // runs whose training loss became NaN or infinite
};

// Runs every (configuration, seed) of `spec`, run i being configuration i % C and seed
// i / C, split over the ranks of `world`, and writes into options.out (on root):
// results.csv, configs.csv, runs.h5, ratios.csv when grad_ratio is measured at
// initialization, comparisons.csv when the spec compares configurations, and the report:
// index.html with its SVG charts (docs/experiments.md lists them). A collective; returns
// the summary on root.
RunSummary RunExperiment(const distributed::World& world, const Spec& spec,
                         const RunOptions& options);

}  // namespace fanin::experiment
