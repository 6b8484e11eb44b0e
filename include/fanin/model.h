// Sequential: a stack of layers trained on a loss (fanin/loss.h) by an optimizer.
//
//   fanin::Sequential model(fanin::MakeBackend("cpu"));
//   model.Add(fanin::Dense(100, "tanh", "glorot_normal"));
//   model.Add(fanin::Dense(1));                             // logits
//   model.Compile(fanin::BinaryCrossEntropy{}, fanin::Sgd{.learning_rate = 0.01f});
//   model.Build(/*input_features=*/10, /*seed=*/42);
//   fanin::History history = model.Fit(data.x, data.y, {.epochs = 20, .batch_size = 16});
#pragma once

#include <concepts>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "fanin/backend.h"
#include "fanin/hook.h"
#include "fanin/layer.h"
#include "fanin/loss.h"
#include "fanin/metrics.h"
#include "fanin/ops.h"
#include "fanin/optimizers.h"
#include "fanin/tensor.h"

namespace fanin {

struct EpochLogs {
  int epoch = 0;
  double loss = 0.0;  // the mean loss over the epoch's samples (penalty excluded)
  // The mean of the loss's metric (Loss::metric_name(): accuracy for the cross-entropies)
  // over the epoch's samples, each counted with the parameters of its batch's step.
  double metric = 0.0;
  double penalty = 0.0;  // the L2 penalty at the end of the epoch
  double val_loss = std::numeric_limits<double>::quiet_NaN();
  double val_metric = std::numeric_limits<double>::quiet_NaN();
  // FitOptions::validation_metrics: the metrics of Predict's output on the validation data
  // after the epoch, a classifier's (a loss whose metric is accuracy) or a regression's.
  std::optional<ClassificationMetrics> val_classification;
  std::optional<RegressionMetrics> val_regression;
};

struct History {
  std::vector<EpochLogs> epochs;
};

struct BatchLogs {
  int epoch = 0;
  int64_t batch = 0;  // within the epoch
  int64_t step = 0;   // optimizer steps taken, this one included
  int64_t size = 0;   // samples in the batch
};

struct FitOptions {
  // Trains epochs initial_epoch, ..., epochs - 1, as Keras does: epoch numbers (in the logs,
  // hooks and the shuffle) continue across Fit calls when initial_epoch is set, which is
  // what resuming from a checkpoint needs (initial_epoch = model.epochs_completed()).
  int epochs = 1;
  int initial_epoch = 0;
  // The whole data set in one batch (full-batch gradient descent).
  static constexpr int64_t kFullBatch = -1;
  int64_t batch_size = 32;  // >= 1, or kFullBatch
  bool shuffle = true;      // a new permutation each epoch, from (shuffle_seed, epoch)
  uint64_t shuffle_seed = 0;
  const Tensor* validation_x = nullptr;
  const Tensor* validation_y = nullptr;
  // As Keras: the last floor(n * validation_split) rows, before any shuffle, are held out
  // and evaluated after each epoch (val_loss, val_accuracy) instead of trained on. In
  // [0, 1); not with validation_x. A seeded, stratified split: TrainTestSplit.
  double validation_split = 0.0;
  // With validation data, also Classify or Regress (fanin/metrics.h) of the model's
  // predictions on it after each epoch, in EpochLogs::val_classification or val_regression:
  // per-class precision, recall and F1, ROC AUC, the confusion matrix; or MSE, MAE and R^2.
  // Costs a Predict pass over the validation data and a copy to the host per epoch.
  bool validation_metrics = false;
  // Called after each batch's update. It receives no loss, since reading one would make
  // an asynchronous backend wait; per-batch values belong in a Hook.
  std::function<void(const BatchLogs&)> on_batch_end;
  // Called after each epoch; return false to stop training.
  std::function<bool(const EpochLogs&)> on_epoch_end;
  // After each batch's forward and backward pass, and before its update, check the loss,
  // every layer's z and activation and every gradient for NaN and Inf; the first found
  // stops training with a std::runtime_error naming the step, the layer and the tensor,
  // leaving the parameters as they were before that step. Costs a wait per batch.
  bool check_finite = false;
  // Progress, as Keras's fit(verbose=...): 0 silent; 1 a bar per epoch that advances as
  // batches finish (their count, elapsed time, ETA), on a terminal only (elsewhere as 2),
  // completed with the loss and accuracy when the epoch ends; 2 one line per epoch. The
  // bar reads no loss, so it adds no wait for an asynchronous backend.
  int verbose = 0;
  std::FILE* progress_stream = stdout;
};

struct Evaluation {
  double loss = 0.0;
  double metric = 0.0;  // the mean of Loss::metric_name() over the samples
};

// Each parameter tensor starts on a multiple of this many floats (64 bytes) in the model's
// flat buffers, so that GEMM libraries get aligned operands.
inline constexpr int64_t kParameterAlignment = 16;

class Sequential;
class RecordedWork;

// One training step on fixed batch tensors, recorded once (Sequential::RecordTrainStep) and
// replayed by Run(): on a GPU the whole step (forward, loss, backward, update) is one CUDA
// graph launch instead of some thirty kernel launches. Valid while the model it came from
// lives and keeps its layers, loss, optimizer settings and hooks.
class RecordedTrainStep {
 public:
  RecordedTrainStep(RecordedTrainStep&&) noexcept;
  RecordedTrainStep& operator=(RecordedTrainStep&&) noexcept;
  ~RecordedTrainStep();
  // The same step as model.TrainStep(x, y) on the recorded x and y (refill them in place to
  // train on other data). Enqueues work and returns without waiting. Throws
  // std::logic_error, and runs nothing, when the model's layer buffers have moved since the
  // recording (a call on a larger batch enlarged them): record again.
  void Run();

 private:
  friend class Sequential;
  struct Target;  // the model state a replay updates and checks
  explicit RecordedTrainStep(std::unique_ptr<Target> target);
  std::unique_ptr<Target> target_;
};

class Sequential {
 public:
  explicit Sequential(std::shared_ptr<Backend> backend = HostBackend());
  Sequential(Sequential&&) noexcept;
  Sequential& operator=(Sequential&&) noexcept;
  ~Sequential();

  Sequential& Add(std::unique_ptr<Layer> layer);
  template <std::derived_from<Layer> L>
  Sequential& Add(L layer) {
    return Add(std::make_unique<L>(std::move(layer)));
  }
  // Throws std::invalid_argument, naming the field, for optimizer settings outside their
  // range (see ValidateOptimizer), or a null loss, and leaves the model as it was.
  void Compile(std::shared_ptr<const Loss> loss = std::make_shared<BinaryCrossEntropy>(),
               Optimizer optimizer = Sgd{});
  template <std::derived_from<Loss> L>
  void Compile(L loss, Optimizer optimizer = Sgd{}) {
    Compile(std::make_shared<const L>(std::move(loss)), std::move(optimizer));
  }
  // Builds the layers for `input_features` inputs and initializes every parameter from
  // the Philox stream (seed, p), p the parameter's index in declaration order.
  void Build(int64_t input_features, uint64_t seed = 0);

  // x [n x features], y [n x loss().LabelColumns(output units)] (or [n] for one column),
  // on any backend (copied to the model's once per call). Throws std::invalid_argument
  // naming the first label the loss cannot take.
  History Fit(const Tensor& x, const Tensor& y, const FitOptions& options = {});
  // batch_size: rows per forward pass, or 0 (or FitOptions::kFullBatch) for all rows at
  // once; any other negative value throws std::invalid_argument.
  Evaluation Evaluate(const Tensor& x, const Tensor& y, int64_t batch_size = 0);
  // The loss's Link of the outputs [n x units] on the model's backend (probabilities for the
  // cross-entropies, the outputs themselves for regression); batch_size as for Evaluate.
  Tensor Predict(const Tensor& x, int64_t batch_size = 0);

  // One forward and backward pass over (x, y) with no update: the gradients of the mean
  // loss (the L2 penalty is added only by the update), z-values and activations stay in
  // the layers for inspection, and wanted hooks run. Returns the mean loss (and so waits).
  double ComputeGradients(const Tensor& x, const Tensor& y);
  // One training step on a batch already on the model's backend: forward, backward, hooks,
  // update. Enqueues work and returns without waiting.
  void TrainStep(const Tensor& x, const Tensor& y);
  // Records TrainStep(x, y) for replay by RecordedTrainStep::Run (one CUDA graph launch per
  // step on a GPU; on the CPU, Run calls the same backend functions as TrainStep). Runs the
  // forward and backward pass once first, without an update, so that every buffer the step
  // needs exists before recording. Throws std::logic_error with Adam (its step count, a
  // kernel argument, changes every step) or with hooks attached (they wait for the device).
  // A replay writes the layers' buffers as they were when recorded; a call on more rows
  // than x (Fit, Evaluate, Predict, TrainStep) may enlarge them, after which Run refuses.
  RecordedTrainStep RecordTrainStep(const Tensor& x, const Tensor& y);
  // One optimizer step (L2 penalty included) from the gradients now in gradients(), which a
  // caller may have changed since ComputeGradients (e.g. averaged across processes).
  void ApplyGradients();

  // A table of layers, output shapes and parameter counts.
  std::string Summary() const;

  // The architecture as JSON, in the shape of Keras's Sequential.get_config():
  // {"input_features": 10, "layers": [{"type": "dense", "units": 100, ...}, ...]}, each
  // layer's config() (keys sorted), input_features only once built. Neither the parameters
  // nor the loss, optimizer or seed: a checkpoint (checkpoint.h) holds those, and saves this
  // same JSON as its "architecture".
  std::string ConfigJson() const;
  // The model that `json` describes, its layers made by MakeLayer: unbuilt, or built with
  // Build(input_features) (seed 0) when the JSON gives input_features, so that ConfigJson
  // gives the same JSON back; leave input_features out to Build with another seed. Not
  // compiled. Throws std::invalid_argument naming the problem, and the layer's index for a
  // layer's: not JSON, not an object, an unknown field, no "layers" array, an entry that is
  // not an object, an unknown type or setting (as MakeLayer names them), a width a layer
  // cannot take.
  static Sequential FromConfigJson(std::string_view json,
                                   std::shared_ptr<Backend> backend = HostBackend());

  void AddHook(std::shared_ptr<Hook> hook);
  void ClearHooks();

  size_t num_layers() const;
  Layer& layer(size_t i) const;
  // The number of parameters: the sum of parameter_extents()' sizes.
  int64_t parameter_count() const;
  // All parameters (and their gradients) in one flat buffer; layers hold views into it at
  // parameter_extents(). The floats between the extents are 0.
  const Tensor& parameters() const;
  const Tensor& gradients() const;
  // Where each parameter tensor lies in parameters(), gradients() and the optimizer's
  // state, in declaration order (layer 0 kernel, layer 0 bias, layer 1 kernel, ...).
  const std::vector<ParameterExtent>& parameter_extents() const;
  // A buffer laid out like parameters() (gradients(), an optimizer state) as parameter_count()
  // values, the parameters one after the other without the gaps; and back (the gaps set to
  // 0). Throws std::invalid_argument when a size does not match.
  std::vector<float> Packed(const Tensor& buffer) const;
  void Unpack(std::span<const float> packed, Tensor& buffer) const;
  Backend& backend() const;
  const std::shared_ptr<Backend>& backend_ptr() const;
  int64_t steps_taken() const;

  // ---- What a checkpoint holds (checkpoint.h) -----------------------------------------
  int64_t input_features() const;  // 0 until built
  uint64_t seed() const;           // Build's seed
  const Loss& loss() const;        // binary_crossentropy until Compile
  const Optimizer& optimizer() const;
  // Epochs that Fit has completed (the last completed epoch's number + 1).
  int epochs_completed() const;
  // The optimizer's state, flat like parameters() and shared with the model (writing
  // through a handle changes the model): "velocity" for SGD with momentum, "adam_m" and
  // "adam_v" for Adam, nothing for plain SGD.
  std::vector<std::pair<std::string, Tensor>> optimizer_state() const;
  // Sets the counters that a checkpoint restores: Adam's bias correction depends on the
  // step count, and the shuffle of a resumed Fit on the epoch.
  void RestoreProgress(int64_t steps, int epochs_completed);

 private:
  friend class RecordedTrainStep;
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace fanin
