#include "fanin/model.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <variant>

#include "fanin/ops.h"
#include "src/fit_progress.h"
#include "src/permutation.h"

namespace fanin {
namespace {

// Rows per forward pass for Evaluate and Predict (`what`) over n rows: batch_size, or all
// of them for 0 or FitOptions::kFullBatch; at least 1, so that an empty x runs no batch.
int64_t InferenceBatch(const char* what, int64_t batch_size, int64_t n) {
  if (batch_size < 0 && batch_size != FitOptions::kFullBatch) {
    throw std::invalid_argument(std::string(what) + ": batch_size is " +
                                std::to_string(batch_size) +
                                "; pass a positive size, or 0 (the default) for the whole "
                                "data set at once");
  }
  const bool whole = batch_size == 0 || batch_size == FitOptions::kFullBatch;
  return std::max<int64_t>(whole ? n : std::min(batch_size, n), 1);
}

}  // namespace

struct Sequential::State {
  std::shared_ptr<Backend> backend;
  std::vector<std::unique_ptr<Layer>> layers;
  std::shared_ptr<const Loss> loss = std::make_shared<BinaryCrossEntropy>();
  Optimizer optimizer = Sgd{};
  bool compiled = false;
  bool built = false;
  int64_t input_features = 0;

  // Every parameter lives in one flat buffer (and its gradient in another), so an
  // optimizer step is one backend call; layers hold views.
  struct Parameter {
    Tensor value, grad;
    bool is_kernel = false;
    size_t layer = 0;  // the layer that declared it, and its name there ("kernel", "bias")
    std::string name;
  };
  std::vector<Parameter> parameters;
  std::vector<ParameterExtent> extents;  // where each lies in the flat buffers
  int64_t parameter_count = 0;           // the floats between extents not counted
  Tensor flat_params, flat_grads;
  Tensor velocity, adam_m, adam_v;  // allocated by the optimizer that needs them

  std::vector<std::shared_ptr<Hook>> hooks;
  // Fused statistics, for the hooks with fused_stats() that want the current step: the
  // buffer holds 2 slots per layer (z, activation), then 3 per parameter (ParameterStats).
  std::vector<Hook*> fused_hooks;
  StatsBuffer stats_buffers[2];         // [log2 histograms]
  StatsBuffer* stats_buffer = nullptr;  // the one this step writes
  std::vector<ForwardStats> forward_stats;
  std::vector<bool> layer_collects;  // whether layer i summarizes in its own Forward
  int64_t steps = 0;
  uint64_t seed = 0;
  int epochs_completed = 0;
  Tensor loss_grad_storage;  // dLoss/doutput, grown to the largest batch
  Tensor step_totals;        // [2]: totals of the last TrainStep/ComputeGradients

  void RequireReady(const char* what) const {
    if (!built) throw std::logic_error(std::string(what) + ": call Build() first");
    if (!compiled) throw std::logic_error(std::string(what) + ": call Compile() first");
  }

  // `training`: a step's forward (Dropout drops), not Evaluate's or Predict's.
  const Tensor& Forward(const Tensor& x, bool training) {
    const Tensor* h = &x;
    for (size_t i = 0; i < layers.size(); ++i) {
      layers[i]->SetForwardPass({.training = training, .seed = seed, .step = steps, .layer = i});
      try {
        h = &layers[i]->Forward(*h);
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument("layer " + std::to_string(i) + " " + e.what());
      }
    }
    return *h;
  }

  // Forward, loss, backward and (wanted) hooks; totals[2*slot..] get the loss sum and
  // the metric's sum. Leaves the gradients in flat_grads.
  // Hooks with fused statistics get them from FinishFusedStats, after the update.
  void ForwardBackward(const Tensor& x, const Tensor& y, Tensor& totals, int64_t slot,
                       const StepContext& context, const Sequential& model) {
    BeginFusedStats(context);
    ForwardBackwardCalls(x, y, totals, slot);
    SummarizeUncollected();
    for (const std::shared_ptr<Hook>& hook : hooks) {
      if (!hook->fused_stats() && hook->Wants(context)) hook->OnStep(context, model);
    }
  }

  // Finds the fused hooks that want `step` and, if any, points every layer's forward at its
  // slots.
  void BeginFusedStats(const StepContext& context) {
    fused_hooks.clear();
    bool log2_histograms = false;
    for (const std::shared_ptr<Hook>& hook : hooks) {
      const std::optional<FusedStatsOptions> options = hook->fused_stats();
      if (!options || !hook->Wants(context)) continue;
      fused_hooks.push_back(hook.get());
      log2_histograms = log2_histograms ||
                        (options->log2_histograms && options->log2_histograms->Contains(context));
    }
    if (fused_hooks.empty()) return;
    // One buffer with histograms and one without, each made once: steps with and without
    // histograms may alternate.
    StatsBuffer& buffer = stats_buffers[log2_histograms ? 1 : 0];
    const auto slots = static_cast<int64_t>(2 * layers.size() + 3 * parameters.size());
    if (buffer.slots() != slots) buffer = StatsBuffer(backend, slots, log2_histograms);
    stats_buffer = &buffer;
    forward_stats.resize(layers.size());
    layer_collects.resize(layers.size());
    for (size_t i = 0; i < layers.size(); ++i) {
      const auto z = static_cast<int64_t>(2 * i);
      forward_stats[i] = {{stats_buffer, z, {}}, {stats_buffer, z + 1, {}}};
      layer_collects[i] = layers[i]->CollectForwardStats(&forward_stats[i]);
    }
  }

  // A layer that cannot summarize in its Forward is summarized now, before anything
  // overwrites its z and activation.
  void SummarizeUncollected() {
    if (fused_hooks.empty()) return;
    for (size_t i = 0; i < layers.size(); ++i) {
      if (layer_collects[i]) continue;
      const LayerTensors t = layers[i]->tensors();
      if (const Tensor* z = t["z"]; z != nullptr && z->defined()) {
        ops::Summarize(*z, forward_stats[i].z);
      }
      if (const Tensor* a = t["activation"]; a != nullptr && a->defined()) {
        ops::Summarize(*a, forward_stats[i].a);
      }
    }
  }

  // The optimizer's summaries, when fused hooks want this step.
  std::optional<ParameterStats> UpdateStats() {
    if (fused_hooks.empty()) return std::nullopt;
    return ParameterStats{stats_buffer, extents, static_cast<int64_t>(2 * layers.size())};
  }

  // Reads the fused statistics (one copy, one wait) and hands them to the hooks that asked.
  // `updated`: the step ran the optimizer, which summarized the parameters; without it (a
  // pass with no update) they are summarized here, and there is no update to report.
  void FinishFusedStats(const StepContext& context, bool updated) {
    if (fused_hooks.empty()) return;
    const auto first_parameter_slot = static_cast<int64_t>(2 * layers.size());
    if (!updated) {
      for (size_t k = 0; k < parameters.size(); ++k) {
        const auto slot = first_parameter_slot + 3 * static_cast<int64_t>(k);
        ops::Summarize(parameters[k].value, {stats_buffer, slot, {}});
        ops::Summarize(parameters[k].grad, {stats_buffer, slot + 1, {}});
      }
    }
    std::vector<TensorStats> all = stats_buffer->Read();
    StepStats step;
    step.context = context;
    step.layers.resize(layers.size());
    const auto put = [&](size_t layer, std::string name, int64_t slot) {
      TensorStats& t = all[static_cast<size_t>(slot)];
      if (t.count > 0) step.layers[layer].tensors.push_back({std::move(name), std::move(t)});
    };
    for (size_t i = 0; i < layers.size(); ++i) {
      step.layers[i].name = "layer" + std::to_string(i);
      put(i, "z", static_cast<int64_t>(2 * i));
      put(i, "activation", static_cast<int64_t>(2 * i + 1));
    }
    // In the order of exact mode (layer.h): a layer's parameters, then their gradients.
    const auto slot_of = [&](size_t k) {
      return first_parameter_slot + 3 * static_cast<int64_t>(k);
    };
    for (size_t k = 0; k < parameters.size(); ++k) {
      put(parameters[k].layer, parameters[k].name, slot_of(k));
    }
    for (size_t k = 0; k < parameters.size(); ++k) {
      const Parameter& p = parameters[k];
      put(p.layer, p.name + "_grad", slot_of(k) + 1);
      if (updated && p.name == "kernel") {
        step.layers[p.layer].kernel_update = std::move(all[static_cast<size_t>(slot_of(k) + 2)]);
      }
    }
    for (LayerStats& layer : step.layers) {
      const TensorStats* kernel = layer["kernel"];
      const TensorStats* grad = layer["kernel_grad"];
      if (kernel && grad) layer.grad_ratio = grad->std / kernel->std;
      if (kernel && layer.kernel_update) {
        layer.update_ratio = layer.kernel_update->Norm() / kernel->Norm();
      }
    }
    for (size_t i = 0; i < layers.size(); ++i) layers[i]->CollectForwardStats(nullptr);
    std::vector<Hook*> receivers;
    receivers.swap(fused_hooks);
    for (Hook* hook : receivers) hook->OnStepStats(step);
  }

  // Where the step's per-batch buffers live: recorded calls write there, so a recorded step
  // is valid only while none of them has moved.
  std::vector<const float*> BufferAddresses() const {
    std::vector<const float*> addresses;
    for (const std::unique_ptr<Layer>& layer : layers) {
      const LayerTensors t = layer->tensors();
      // Not t.input: layer 0's is x (a recorded argument), the others' are activations.
      for (const Tensor* tensor : {t["z"], t["activation"]}) {
        addresses.push_back(tensor != nullptr && tensor->defined() ? tensor->data() : nullptr);
      }
    }
    addresses.push_back(loss_grad_storage.defined() ? loss_grad_storage.data() : nullptr);
    return addresses;
  }

  // The backend calls of ForwardBackward alone (no hooks): what RecordTrainStep records.
  void ForwardBackwardCalls(const Tensor& x, const Tensor& y, Tensor& totals, int64_t slot) {
    const Tensor& output = Forward(x, /*training=*/true);
    if (!loss_grad_storage.defined() || loss_grad_storage.rows() < x.rows() ||
        loss_grad_storage.cols() != output.cols()) {
      loss_grad_storage = Tensor(backend, {x.rows(), output.cols()});
    }
    Tensor dy = loss_grad_storage.Rows(0, x.rows());
    loss->Compute(output, y, 1.0f / static_cast<float>(x.rows()), &dy, totals, slot);
    Tensor* grad = &dy;
    for (size_t i = layers.size(); i-- > 0;) grad = layers[i]->Backward(*grad, i > 0);
  }

  const L2Penalty& penalty() const {
    return std::visit([](const auto& o) -> const L2Penalty& { return o.penalty; }, optimizer);
  }

  // d/dw of l2 * sum(w^2) is 2 l2 w.
  void AddPenaltyGradient() {
    const L2Penalty& p = penalty();
    if (p.l2 == 0.0f) return;
    for (Parameter& param : parameters) {
      if (param.is_kernel || !p.kernels_only) ops::Axpy(2.0f * p.l2, param.value, param.grad);
    }
  }

  double PenaltyValue() {
    const L2Penalty& p = penalty();
    if (p.l2 == 0.0f) return 0.0;
    std::vector<const Tensor*> penalized;
    for (const Parameter& param : parameters) {
      if (param.is_kernel || !p.kernels_only) penalized.push_back(&param.value);
    }
    double sum_squares = 0.0;
    for (const TensorStats& s : ops::Stats(penalized, {})) {
      sum_squares += static_cast<double>(s.count) * (s.std * s.std + s.mean * s.mean);
    }
    return p.l2 * sum_squares;
  }

  // The update, then the fused statistics of the step (`context`) when hooks want them.
  void Update(const StepContext& context) {
    ++steps;
    const std::optional<ParameterStats> stats = UpdateStats();
    EnqueueUpdate(stats ? &*stats : nullptr);
    FinishFusedStats(context, true);
  }

  // The update's backend calls for step number `steps` (already counted): no host state
  // changes, so RecordTrainStep can record it. With `stats`, the gradients summarized are
  // those the optimizer applies, the L2 penalty's gradient included.
  void EnqueueUpdate(const ParameterStats* stats) {
    AddPenaltyGradient();
    if (const Sgd* sgd = std::get_if<Sgd>(&optimizer)) {
      const SgdStep step{sgd->learning_rate, sgd->momentum, sgd->nesterov};
      ops::SgdUpdate(step, flat_params, flat_grads, sgd->momentum != 0.0f ? &velocity : nullptr,
                     stats);
    } else {
      const Adam& adam = std::get<Adam>(optimizer);
      const AdamStep step{adam.learning_rate, adam.beta1, adam.beta2, adam.epsilon, steps};
      ops::AdamUpdate(step, flat_params, flat_grads, adam_m, adam_v, stats);
    }
  }

  // Zeroed optimizer state for the current optimizer and parameters.
  void ResetOptimizerState() {
    velocity = adam_m = adam_v = Tensor();
    if (!built) return;
    auto zeros = [&] {
      Tensor t(backend, flat_params.shape());
      ops::Fill(t, 0.0f);
      return t;
    };
    if (const Sgd* sgd = std::get_if<Sgd>(&optimizer); sgd && sgd->momentum != 0.0f) {
      velocity = zeros();
    } else if (std::holds_alternative<Adam>(optimizer)) {
      adam_m = zeros();
      adam_v = zeros();
    }
  }

  // x and y on the model's backend, checked for shape and non-finite values.
  // Throws, naming both shapes and the first layer, unless x is [n x input_features].
  void CheckInput(const char* what, const Tensor& x) const {
    if (x.rank() != 2 || x.dim(1) != input_features) {
      throw std::invalid_argument(std::string(what) + ": x has shape " + ShapeToString(x.shape()) +
                                  ", but layer 0 " + layers.front()->Describe() + " expects [n x " +
                                  std::to_string(input_features) + "]");
    }
  }

  std::pair<Tensor, Tensor> PrepareData(const char* what, const Tensor& x, const Tensor& y) {
    CheckInput(what, x);
    const int64_t units = layers.back()->output_features();
    int64_t columns = 0;
    try {
      columns = loss->LabelColumns(units);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(std::string(what) + ": " + e.what());
    }
    const bool vector_ok = columns == 1 && y.rank() == 1;
    if (y.size() != x.rows() * columns || !(vector_ok || (y.rank() == 2 && y.dim(1) == columns))) {
      throw std::invalid_argument(std::string(what) + ": y has shape " + ShapeToString(y.shape()) +
                                  ", expected [" + std::to_string(x.rows()) + " x " +
                                  std::to_string(columns) + "] for x " + ShapeToString(x.shape()) +
                                  " and " + loss->config().type() + " on " + std::to_string(units) +
                                  " output unit" + (units == 1 ? "" : "s"));
    }
    if (x.rows() == 0) {
      throw std::invalid_argument(std::string(what) + ": the data set is empty (x has shape " +
                                  ShapeToString(x.shape()) + "); pass at least one sample");
    }
    Tensor xd = x.To(backend);
    Tensor yd = y.To(backend).Reshape({x.rows(), columns});
    const Tensor* both[] = {&xd, &yd};
    const std::vector<TensorStats> stats = ops::Stats(both, {});
    for (int i = 0; i < 2; ++i) {
      if (stats[i].nan_count + stats[i].inf_count > 0) {
        throw std::invalid_argument(std::string(what) + ": " + (i == 0 ? "x" : "y") + " contains " +
                                    std::to_string(stats[i].nan_count) + " NaN and " +
                                    std::to_string(stats[i].inf_count) + " infinite values");
      }
    }
    loss->CheckLabels(what, yd.ToHost(), columns, units);
    return {xd, yd};
  }

  // FitOptions::check_finite: the first NaN or Inf among the batch's loss (totals slot b),
  // the layers' z and activations (in forward order) and the gradients (in backward order)
  // throws, naming where it is.
  void CheckFinite(const Tensor& totals, int64_t b, int epoch) {
    std::vector<const Tensor*> checked;
    std::vector<std::string> names;
    const auto add = [&](const Tensor* t, size_t layer, const std::string& tensor) {
      if (t == nullptr || !t->defined()) return;
      checked.push_back(t);
      names.push_back("layer " + std::to_string(layer) + " " + layers[layer]->Describe() + " " +
                      tensor);
    };
    for (size_t i = 0; i < layers.size(); ++i) {
      const LayerTensors t = layers[i]->tensors();
      if (t["z"] != t["input"]) add(t["z"], i, "z");
      add(t["activation"], i, "activation");
    }
    const Tensor loss_total = totals.View(2 * b, {1});
    checked.push_back(&loss_total);
    names.push_back("the loss");
    for (size_t i = layers.size(); i-- > 0;) {
      for (const NamedTensor& t : layers[i]->tensors().list) {
        // "kernel_grad" is named "kernel gradient".
        if (t.role == TensorRole::kGradient) {
          add(t.tensor, i, t.name.substr(0, t.name.rfind("_grad")) + " gradient");
        }
      }
    }
    const std::vector<TensorStats> stats = ops::Stats(checked, {});
    for (size_t i = 0; i < stats.size(); ++i) {
      if (stats[i].nan_count + stats[i].inf_count == 0) continue;
      throw std::runtime_error(
          "Fit: non-finite values at step " + std::to_string(steps + 1) + " (epoch " +
          std::to_string(epoch) + ", batch " + std::to_string(b) + "): " + names[i] + " has " +
          std::to_string(stats[i].nan_count) + " NaN and " + std::to_string(stats[i].inf_count) +
          " infinite of " + std::to_string(stats[i].count) +
          " values; stopped before this step's update (lower the learning rate, or check the "
          "data and the initializers)");
    }
  }
};

Sequential::Sequential(std::shared_ptr<Backend> backend) : state_(std::make_unique<State>()) {
  if (!backend) throw std::invalid_argument("Sequential: null backend");
  state_->backend = std::move(backend);
}
Sequential::Sequential(Sequential&&) noexcept = default;
Sequential& Sequential::operator=(Sequential&&) noexcept = default;
Sequential::~Sequential() = default;

Sequential& Sequential::Add(std::unique_ptr<Layer> layer) {
  if (state_->built) throw std::logic_error("Sequential::Add: the model is already built");
  if (!layer) throw std::invalid_argument("Sequential::Add: null layer");
  state_->layers.push_back(std::move(layer));
  return *this;
}

void Sequential::Compile(std::shared_ptr<const Loss> loss, Optimizer optimizer) {
  if (!loss) throw std::invalid_argument("Compile: no loss (a null pointer)");
  try {
    ValidateOptimizer(optimizer);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("Compile: ") + e.what());
  }
  state_->loss = std::move(loss);
  state_->optimizer = optimizer;
  state_->compiled = true;
  state_->ResetOptimizerState();
}

void Sequential::Build(int64_t input_features, uint64_t seed) {
  State& s = *state_;
  if (s.layers.empty()) throw std::logic_error("Sequential::Build: the model has no layers");
  if (s.built) throw std::logic_error("Sequential::Build: the model is already built");
  std::vector<std::vector<ParameterSpec>> specs;
  int64_t width = input_features, total = 0;
  // Each parameter starts on a multiple of kParameterAlignment floats: cuBLAS picks slower
  // kernels for operands aligned to fewer than 16 bytes, and a bias of 100 floats would
  // leave the next kernel at 400 bytes past a 64-byte boundary. The gaps are zero and stay
  // zero: no gradient is written there, so no update moves them.
  std::vector<ParameterExtent> extents;
  int64_t count = 0;
  for (size_t l = 0; l < s.layers.size(); ++l) {
    width = s.layers[l]->Build(s.backend, width);
    specs.push_back(s.layers[l]->Parameters());
    for (const ParameterSpec& p : specs.back()) {
      const int64_t size = ShapeSize(p.shape);
      // Each layer is below kMaxTensorSize on its own; the buffer holding all must be too.
      if (size > kMaxTensorSize - kParameterAlignment - total) {
        throw std::length_error("Sequential::Build: layer " + std::to_string(l) + " (" +
                                s.layers[l]->Describe() + ") brings the parameter count above " +
                                std::to_string(kMaxTensorSize));
      }
      extents.push_back({total, size});
      count += size;
      total = (total + size + kParameterAlignment - 1) / kParameterAlignment * kParameterAlignment;
    }
  }
  s.input_features = input_features;
  s.flat_params = Tensor(s.backend, {total});
  s.flat_grads = Tensor(s.backend, {total});
  ops::Fill(s.flat_params, 0.0f);
  ops::Fill(s.flat_grads, 0.0f);
  uint32_t stream = 0;
  for (size_t l = 0; l < s.layers.size(); ++l) {
    std::vector<Tensor> values, grads;
    for (const ParameterSpec& p : specs[l]) {
      const int64_t offset = extents[stream].offset;
      Tensor value = s.flat_params.View(offset, p.shape);
      Tensor grad = s.flat_grads.View(offset, p.shape);
      p.initializer.Apply(value, ComputeFans(p.shape), seed, stream++);
      s.parameters.push_back({value, grad, p.is_kernel, l, p.name});
      values.push_back(value);
      grads.push_back(grad);
    }
    s.layers[l]->BindParameters(values, grads);
  }
  s.extents = std::move(extents);
  s.parameter_count = count;
  s.step_totals = Tensor(s.backend, {2});
  s.seed = seed;
  s.built = true;
  s.ResetOptimizerState();
}

void Sequential::TrainStep(const Tensor& x, const Tensor& y) {
  State& s = *state_;
  s.RequireReady("TrainStep");
  const StepContext context{s.steps, -1, 0};
  s.ForwardBackward(x, y, s.step_totals, 0, context, *this);
  s.Update(context);
}

struct RecordedTrainStep::Target {
  Sequential::State* state;  // stays put when the Sequential is moved
  std::vector<const float*> buffers;
  std::unique_ptr<RecordedWork> work;
};

RecordedTrainStep::RecordedTrainStep(std::unique_ptr<Target> target) : target_(std::move(target)) {}
RecordedTrainStep::RecordedTrainStep(RecordedTrainStep&&) noexcept = default;
RecordedTrainStep& RecordedTrainStep::operator=(RecordedTrainStep&&) noexcept = default;
RecordedTrainStep::~RecordedTrainStep() = default;

void RecordedTrainStep::Run() {
  if (target_->state->BufferAddresses() != target_->buffers) {
    throw std::logic_error(
        "RecordedTrainStep::Run: the model's layer buffers have moved since the step was "
        "recorded (a call on a larger batch enlarged them); call RecordTrainStep again");
  }
  ++target_->state->steps;  // the recorded calls do not count steps
  target_->work->Replay();
}

RecordedTrainStep Sequential::RecordTrainStep(const Tensor& x, const Tensor& y) {
  State& s = *state_;
  s.RequireReady("RecordTrainStep");
  if (std::holds_alternative<Adam>(s.optimizer)) {
    throw std::logic_error(
        "RecordTrainStep: Adam's bias correction depends on the step number, which a "
        "recorded step cannot change; use TrainStep, or SGD");
  }
  if (!s.hooks.empty()) {
    throw std::logic_error("RecordTrainStep: the model has " + std::to_string(s.hooks.size()) +
                           " hook(s), which read results back from the device during the "
                           "step; use TrainStep, or ClearHooks() first");
  }
  for (size_t i = 0; i < s.layers.size(); ++i) {
    if (s.layers[i]->draws_each_step()) {
      throw std::logic_error("RecordTrainStep: layer " + std::to_string(i) + " " +
                             s.layers[i]->Describe() +
                             " draws new random numbers each step, which a recorded step would "
                             "replay unchanged; use TrainStep");
    }
  }
  s.ForwardBackwardCalls(x, y, s.step_totals, 0);  // allocates every buffer the step needs
  // The state, not the Sequential, is captured: it stays put when the model is moved.
  std::unique_ptr<RecordedWork> work = s.backend->Record([&s, x, y] {
    s.ForwardBackwardCalls(x, y, s.step_totals, 0);
    s.EnqueueUpdate(nullptr);
  });
  return RecordedTrainStep(std::make_unique<RecordedTrainStep::Target>(
      RecordedTrainStep::Target{&s, s.BufferAddresses(), std::move(work)}));
}

void Sequential::ApplyGradients() {
  state_->RequireReady("ApplyGradients");
  state_->Update({state_->steps, -1, 0});  // no forward pass began: no fused statistics
}

double Sequential::ComputeGradients(const Tensor& x, const Tensor& y) {
  State& s = *state_;
  s.RequireReady("ComputeGradients");
  auto [xd, yd] = s.PrepareData("ComputeGradients", x, y);
  const StepContext context{s.steps, -1, 0};
  s.ForwardBackward(xd, yd, s.step_totals, 0, context, *this);
  s.FinishFusedStats(context, false);
  return s.step_totals.ToHost()[0] / static_cast<double>(xd.rows());
}

History Sequential::Fit(const Tensor& x, const Tensor& y, const FitOptions& options) {
  State& s = *state_;
  s.RequireReady("Fit");
  auto [xd, yd] = s.PrepareData("Fit", x, y);
  if ((options.validation_x == nullptr) != (options.validation_y == nullptr)) {
    throw std::invalid_argument("Fit: give both validation_x and validation_y, or neither");
  }
  const Tensor* validation_x = options.validation_x;
  const Tensor* validation_y = options.validation_y;
  Tensor held_out_x, held_out_y;
  if (options.validation_split != 0.0) {
    const double split = options.validation_split;
    if (!(split > 0.0 && split < 1.0)) {
      throw std::invalid_argument("Fit: validation_split is " + std::to_string(split) +
                                  "; it must be in [0, 1)");
    }
    if (validation_x != nullptr) {
      throw std::invalid_argument(
          "Fit: give validation_split or validation_x/validation_y, not both");
    }
    const int64_t rows = xd.rows();
    const auto train_rows =
        static_cast<int64_t>(std::floor(static_cast<double>(rows) * (1 - split)));
    if (train_rows == 0 || train_rows == rows) {
      throw std::invalid_argument("Fit: validation_split " + std::to_string(split) + " of " +
                                  std::to_string(rows) + " rows leaves " +
                                  std::to_string(train_rows) + " to train on and " +
                                  std::to_string(rows - train_rows) + " to validate");
    }
    held_out_x = xd.Rows(train_rows, rows);
    held_out_y = yd.Rows(train_rows, rows);
    xd = xd.Rows(0, train_rows);
    yd = yd.Rows(0, train_rows);
    validation_x = &held_out_x;
    validation_y = &held_out_y;
  }
  if (options.batch_size < 1 && options.batch_size != FitOptions::kFullBatch) {
    throw std::invalid_argument("Fit: batch_size is " + std::to_string(options.batch_size) +
                                "; pass a positive size, or FitOptions::kFullBatch for the "
                                "whole data set at once");
  }
  if (options.verbose < 0 || options.verbose > 2) {
    throw std::invalid_argument("Fit: verbose is " + std::to_string(options.verbose) +
                                "; 0 (silent), 1 (a progress bar) or 2 (a line per epoch)");
  }
  if (options.verbose > 0 && options.progress_stream == nullptr) {
    throw std::invalid_argument("Fit: verbose " + std::to_string(options.verbose) +
                                " needs a progress_stream");
  }
  if (options.initial_epoch < 0 || options.initial_epoch > options.epochs) {
    throw std::invalid_argument("Fit: initial_epoch " + std::to_string(options.initial_epoch) +
                                " is outside [0, epochs = " + std::to_string(options.epochs) +
                                "]; epochs is the number to stop at, as in Keras");
  }
  const int64_t n = xd.rows();
  const int64_t batch =
      options.batch_size == FitOptions::kFullBatch ? n : std::min(options.batch_size, n);
  const int64_t num_batches = (n + batch - 1) / batch;
  Tensor totals(s.backend, {2 * num_batches});
  Tensor x_shuffled, y_shuffled;
  if (options.shuffle) {
    x_shuffled = Tensor(s.backend, xd.shape());
    y_shuffled = Tensor(s.backend, yd.shape());
  }
  std::vector<int64_t> order(static_cast<size_t>(n));
  History history;
  FitProgress progress(options.verbose, options.progress_stream, options.epochs, num_batches,
                       s.loss->metric_name());
  for (int epoch = options.initial_epoch; epoch < options.epochs; ++epoch) {
    progress.BeginEpoch(epoch);
    const Tensor* xe = &xd;
    const Tensor* ye = &yd;
    if (options.shuffle) {
      SeededPermutation(order, options.shuffle_seed, static_cast<uint32_t>(epoch));
      ops::GatherRows(xd, order, x_shuffled);
      ops::GatherRows(yd, order, y_shuffled);
      xe = &x_shuffled;
      ye = &y_shuffled;
    }
    for (int64_t b = 0; b < num_batches; ++b) {
      const int64_t begin = b * batch, end = std::min(n, begin + batch);
      const StepContext context{s.steps, epoch, b};
      s.ForwardBackward(xe->Rows(begin, end), ye->Rows(begin, end), totals, b, context, *this);
      if (options.check_finite) s.CheckFinite(totals, b, epoch);
      s.Update(context);
      if (options.on_batch_end) options.on_batch_end({epoch, b, s.steps, end - begin});
      progress.Batch(b + 1);
    }
    const std::vector<float> t = totals.ToHost();
    EpochLogs logs;
    logs.epoch = epoch;
    double loss_sum = 0.0, metric_sum = 0.0;
    for (int64_t b = 0; b < num_batches; ++b) {
      loss_sum += t[static_cast<size_t>(2 * b)];
      metric_sum += t[static_cast<size_t>(2 * b + 1)];
    }
    logs.loss = loss_sum / static_cast<double>(n);
    logs.metric = metric_sum / static_cast<double>(n);
    logs.penalty = s.PenaltyValue();
    if (validation_x != nullptr) {
      const Evaluation v = Evaluate(*validation_x, *validation_y, batch);
      logs.val_loss = v.loss;
      logs.val_metric = v.metric;
      if (options.validation_metrics) {
        const Tensor predictions = Predict(*validation_x, batch);
        if (s.loss->metric_name() == "accuracy") {
          logs.val_classification = Classify(predictions, *validation_y);
        } else {
          logs.val_regression = Regress(predictions, *validation_y);
        }
      }
    }
    progress.EndEpoch(logs);
    history.epochs.push_back(logs);
    s.epochs_completed = epoch + 1;
    if (options.on_epoch_end && !options.on_epoch_end(logs)) break;
  }
  return history;
}

Evaluation Sequential::Evaluate(const Tensor& x, const Tensor& y, int64_t batch_size) {
  State& s = *state_;
  s.RequireReady("Evaluate");
  auto [xd, yd] = s.PrepareData("Evaluate", x, y);
  const int64_t n = xd.rows();
  const int64_t batch = InferenceBatch("Evaluate", batch_size, n);
  const int64_t num_batches = (n + batch - 1) / batch;
  Tensor totals(s.backend, {2 * num_batches});
  for (int64_t b = 0; b < num_batches; ++b) {
    const int64_t begin = b * batch, end = std::min(n, begin + batch);
    const Tensor& output = s.Forward(xd.Rows(begin, end), /*training=*/false);
    s.loss->Compute(output, yd.Rows(begin, end), 1.0f, nullptr, totals, b);
  }
  const std::vector<float> t = totals.ToHost();
  Evaluation e;
  for (int64_t b = 0; b < num_batches; ++b) {
    e.loss += t[static_cast<size_t>(2 * b)];
    e.metric += t[static_cast<size_t>(2 * b + 1)];
  }
  e.loss /= static_cast<double>(n);
  e.metric /= static_cast<double>(n);
  return e;
}

Tensor Sequential::Predict(const Tensor& x, int64_t batch_size) {
  State& s = *state_;
  if (!s.built) throw std::logic_error("Predict: call Build() first");
  s.CheckInput("Predict", x);
  const Tensor xd = x.To(s.backend);
  const int64_t n = xd.rows();
  const int64_t width = s.layers.back()->output_features();
  Tensor predictions(s.backend, {n, width});
  const int64_t batch = InferenceBatch("Predict", batch_size, n);
  for (int64_t begin = 0; begin < n; begin += batch) {
    const int64_t end = std::min(n, begin + batch);
    const Tensor& output = s.Forward(xd.Rows(begin, end), /*training=*/false);
    Tensor rows = predictions.Rows(begin, end);
    output.CopyTo(rows);
    s.loss->Link(rows);
  }
  return predictions;
}

std::string Sequential::Summary() const {
  const State& s = *state_;
  std::ostringstream out;
  out << std::left << std::setw(48) << "Layer" << std::setw(16) << "Output shape"
      << "Params\n";
  out << std::string(72, '-') << '\n';
  int64_t total = 0;
  for (const std::unique_ptr<Layer>& layer : s.layers) {
    int64_t count = 0;
    if (s.built) {
      for (const ParameterSpec& spec : layer->Parameters()) {
        count += ShapeSize(spec.shape);
      }
    }
    total += count;
    const std::string shape =
        s.built ? "[n x " + std::to_string(layer->output_features()) + "]" : "(not built)";
    out << std::setw(48) << layer->Describe() << std::setw(16) << shape << count << '\n';
  }
  out << std::string(72, '-') << '\n';
  out << "Total params: " << total << '\n';
  out << "Backend: " << s.backend->Describe() << '\n';
  return out.str();
}

void Sequential::AddHook(std::shared_ptr<Hook> hook) {
  if (!hook) throw std::invalid_argument("AddHook: null hook");
  state_->hooks.push_back(std::move(hook));
}
void Sequential::ClearHooks() { state_->hooks.clear(); }

size_t Sequential::num_layers() const { return state_->layers.size(); }
Layer& Sequential::layer(size_t i) const { return *state_->layers.at(i); }
int64_t Sequential::parameter_count() const { return state_->parameter_count; }
const std::vector<ParameterExtent>& Sequential::parameter_extents() const {
  return state_->extents;
}

std::vector<float> Sequential::Packed(const Tensor& buffer) const {
  const State& s = *state_;
  if (buffer.size() != s.flat_params.size()) {
    throw std::invalid_argument("Sequential::Packed: a buffer of " + ShapeToString(buffer.shape()) +
                                " is not laid out like the " +
                                ShapeToString(s.flat_params.shape()) + " parameters");
  }
  const std::vector<float> flat = buffer.ToHost();
  std::vector<float> packed;
  packed.reserve(static_cast<size_t>(s.parameter_count));
  for (const ParameterExtent& e : s.extents) {
    packed.insert(packed.end(), flat.begin() + e.offset, flat.begin() + e.offset + e.size);
  }
  return packed;
}

void Sequential::Unpack(std::span<const float> packed, Tensor& buffer) const {
  const State& s = *state_;
  if (static_cast<int64_t>(packed.size()) != s.parameter_count ||
      buffer.size() != s.flat_params.size()) {
    throw std::invalid_argument("Sequential::Unpack: " + std::to_string(packed.size()) +
                                " values into " + ShapeToString(buffer.shape()) +
                                "; the model has " + std::to_string(s.parameter_count) +
                                " parameters in " + ShapeToString(s.flat_params.shape()));
  }
  std::vector<float> flat(static_cast<size_t>(buffer.size()), 0.0f);
  auto next = packed.begin();
  for (const ParameterExtent& e : s.extents) {
    std::copy(next, next + e.size, flat.begin() + e.offset);
    next += e.size;
  }
  buffer.CopyFromHost(flat);
}
const Tensor& Sequential::parameters() const { return state_->flat_params; }
const Tensor& Sequential::gradients() const { return state_->flat_grads; }
Backend& Sequential::backend() const { return *state_->backend; }
const std::shared_ptr<Backend>& Sequential::backend_ptr() const { return state_->backend; }
int64_t Sequential::steps_taken() const { return state_->steps; }

int64_t Sequential::input_features() const { return state_->input_features; }
uint64_t Sequential::seed() const { return state_->seed; }
const Loss& Sequential::loss() const { return *state_->loss; }
const Optimizer& Sequential::optimizer() const { return state_->optimizer; }
int Sequential::epochs_completed() const { return state_->epochs_completed; }

std::vector<std::pair<std::string, Tensor>> Sequential::optimizer_state() const {
  const State& s = *state_;
  std::vector<std::pair<std::string, Tensor>> slots;
  if (s.velocity.defined()) slots.emplace_back("velocity", s.velocity);
  if (s.adam_m.defined()) slots.emplace_back("adam_m", s.adam_m);
  if (s.adam_v.defined()) slots.emplace_back("adam_v", s.adam_v);
  return slots;
}

void Sequential::RestoreProgress(int64_t steps, int epochs_completed) {
  if (steps < 0 || epochs_completed < 0) {
    throw std::invalid_argument("RestoreProgress: steps " + std::to_string(steps) +
                                " and epochs_completed " + std::to_string(epochs_completed) +
                                " must be >= 0");
  }
  state_->steps = steps;
  state_->epochs_completed = epochs_completed;
}

}  // namespace fanin
