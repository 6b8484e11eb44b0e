#include "python-free-examples/experiment.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <utility>

#include "fanin/activation.h"
#include "fanin/fanin.h"
#include "fanin/plot.h"
#include "fanin/recorder.h"
#include "fanin/run_store.h"
#include "fanin/stats_hook.h"
#include "python-free-examples/study.h"

namespace fanin::experiment {
namespace {

using study::FormatNumber;

// The spec's keys, in the order docs/experiments.md lists them. The grid keys' order is
// also the Cartesian product's: the last one varies fastest.
const std::vector<std::string> kTopKeys = {"name", "seeds",  "data",    "model",  "train",
                                           "grid", "config", "measure", "compare"};
const std::vector<std::string> kDataKeys = {"kind",  "dims", "points",       "classes",
                                            "noise", "path", "label_column", "radius_fraction"};
const std::vector<std::string> kDataKinds = {"ball", "blobs", "regression", "parabola", "csv"};
// The losses a spec may name: those whose labels the data kinds give.
const std::vector<std::string> kLosses = {"binary_crossentropy", "sparse_categorical_crossentropy",
                                          "mean_squared_error", "mean_absolute_error"};
const std::vector<std::string> kModelKeys = {"widths",
                                             "shape",
                                             "depth",
                                             "width",
                                             "activation",
                                             "initializer",
                                             "output_initializer",
                                             "output_units",
                                             "loss",
                                             "batch_norm",
                                             "dropout"};
const std::vector<std::string> kTrainKeys = {"optimizer", "learning_rate", "momentum", "nesterov",
                                             "l2",        "batch_size",    "epochs"};
const std::vector<std::string> kGridKeys = {
    "activation", "initializer",   "shape",    "depth",           "width",
    "batch_size", "learning_rate", "epochs",   "radius_fraction", "batch_norm",
    "dropout",    "optimizer",     "momentum", "nesterov",        "l2"};
const std::vector<std::string> kMeasureKeys = {
    "init",       "every_epochs",    "every_steps", "on",
    "statistics", "histogram_bins",  "histograms",  "evaluate",
    "weights",    "target_accuracy", "target_loss"};
// Run-level statistics: one value per run, from the end-of-epoch evaluations.
const std::vector<std::string> kOutcomes = {"final_loss", "final_accuracy", "epochs_to_accuracy",
                                            "epochs_to_loss"};
constexpr int64_t kMaxCount = 1000000;

std::string TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date or time";
  }
}

// What a statistic may say of a tensor role ("ROLE_WHAT"): its moments, its norm, and the
// fractions that only the fused statistics count (exact zeros: dead ReLU units; values in the
// saturated band of tanh or sigmoid, fanin/stats_hook.h).
struct Reading {
  std::string_view what;
  double (*of)(const TensorStats&);
  bool fused;
};
constexpr Reading kReadings[] = {
    {"mean", [](const TensorStats& t) { return t.mean; }, false},
    {"std", [](const TensorStats& t) { return t.std; }, false},
    {"min", [](const TensorStats& t) { return t.min; }, false},
    {"max", [](const TensorStats& t) { return t.max; }, false},
    {"norm", [](const TensorStats& t) { return t.Norm(); }, false},
    {"zero_fraction",
     [](const TensorStats& t) {
       return static_cast<double>(t.zero_count) / static_cast<double>(t.count);
     },
     true},
    {"saturated_fraction",
     [](const TensorStats& t) {
       return static_cast<double>(t.saturated_count) / static_cast<double>(t.count);
     },
     true},
};

// The tensors of a Dense layer (LayerTensors names) that a statistic may read: the tables
// and charts are of the Dense layers (runs.h5 keeps every layer's tensors).
constexpr std::string_view kDenseTensors[] = {"z",    "activation",  "kernel",
                                              "bias", "kernel_grad", "bias_grad"};

// The tensor and reading a statistic names; null reading for grad_ratio.
std::pair<std::string_view, const Reading*> ParseStatistic(const std::string& name) {
  for (std::string_view tensor : kDenseTensors) {
    for (const Reading& r : kReadings) {
      if (name == std::string(tensor) + "_" + std::string(r.what)) return {tensor, &r};
    }
  }
  return {"", nullptr};
}

// The statistics a measurement can keep: grad_ratio and every tensor's readings.
std::vector<std::string> StatisticNames() {
  std::vector<std::string> names = {"grad_ratio", "update_ratio"};
  for (std::string_view tensor : kDenseTensors) {
    for (const Reading& r : kReadings) {
      names.push_back(std::string(tensor) + "_" + std::string(r.what));
    }
  }
  return names;
}

bool NeedsFusedStats(const std::string& statistic) {
  const Reading* reading = ParseStatistic(statistic).second;
  return reading != nullptr && reading->fused;
}

std::vector<std::string> ActivationNames() {
  std::vector<std::string> names;
  for (Activation a : kActivations) names.emplace_back(ActivationName(a));
  return names;
}

// Reads nodes of one spec file, failing with the file, line and column of the node.
class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }

  [[noreturn]] void Fail(const toml::source_region& where, const std::string& message) const {
    std::string place = path_;
    if (where.begin.line > 0) {
      place += ":" + std::to_string(where.begin.line) + ":" + std::to_string(where.begin.column);
    }
    throw SpecError(place + ": " + message);
  }

  // Refuses a key of `table` outside `allowed`.
  void CheckKeys(const toml::table& table, const std::string& prefix,
                 const std::vector<std::string>& allowed) const {
    for (const auto& [key, value] : table) {
      if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
      Fail(key.source(), "unknown key \"" + prefix + std::string(key.str()) + "\"" +
                             SuggestName(key.str(), allowed));
    }
  }

  const toml::table& Table(const toml::node& node, const std::string& what) const {
    if (!node.is_table()) Fail(node.source(), what + " must be a table, not " + TypeName(node));
    return *node.as_table();
  }
  const toml::array& Array(const toml::node& node, const std::string& what) const {
    if (!node.is_array()) Fail(node.source(), what + " must be an array, not " + TypeName(node));
    return *node.as_array();
  }
  std::string String(const toml::node& node, const std::string& what) const {
    if (!node.is_string()) Fail(node.source(), what + " must be a string, not " + TypeName(node));
    return node.as_string()->get();
  }
  bool Bool(const toml::node& node, const std::string& what) const {
    if (!node.is_boolean())
      Fail(node.source(), what + " must be true or false, not " + TypeName(node));
    return node.as_boolean()->get();
  }
  int64_t Integer(const toml::node& node, const std::string& what, int64_t lo, int64_t hi) const {
    if (!node.is_integer())
      Fail(node.source(), what + " must be an integer, not " + TypeName(node));
    const int64_t value = node.as_integer()->get();
    if (value < lo || value > hi) {
      Fail(node.source(), what + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                              "], not " + std::to_string(value));
    }
    return value;
  }
  // An integer or a float, finite and at least `lo` (above it when `open`).
  double Number(const toml::node& node, const std::string& what, double lo, bool open) const {
    double value = 0;
    if (node.is_integer()) {
      value = static_cast<double>(node.as_integer()->get());
    } else if (node.is_floating_point()) {
      value = node.as_floating_point()->get();
    } else {
      Fail(node.source(), what + " must be a number, not " + TypeName(node));
    }
    if (!std::isfinite(value) || value < lo || (open && value == lo)) {
      Fail(node.source(), what + " must be a finite number " + (open ? "above " : "at least ") +
                              FormatNumber(lo) + ", not " + FormatNumber(value));
    }
    return value;
  }

 private:
  std::string path_;
};

// A configuration before its widths are resolved: the model's widths come from `widths`
// when given, else from the shape.
struct Params {
  Config config;
  std::optional<std::vector<int64_t>> widths;
  std::string shape = "block";
  int64_t depth = 5;
  int64_t width = 100;
  bool ball = true;  // data.kind is "ball", the only one with a radius_fraction
};

std::string CheckedActivation(const Reader& reader, const toml::node& node,
                              const std::string& what) {
  std::string name = reader.String(node, what);
  try {
    ParseActivation(name);
  } catch (const std::invalid_argument&) {
    reader.Fail(node.source(), what + ": unknown activation \"" + name + "\"" +
                                   SuggestName(name, ActivationNames()));
  }
  return name;
}

std::string CheckedInitializer(const Reader& reader, const toml::node& node,
                               const std::string& what) {
  std::string name = reader.String(node, what);
  try {
    Initializer::FromName(name);
  } catch (const std::invalid_argument& e) {
    reader.Fail(node.source(), what + ": " + e.what());
  }
  return name;
}

std::string CheckedShape(const Reader& reader, const toml::node& node, const std::string& what) {
  std::string name = reader.String(node, what);
  const std::vector<std::string> shapes = {"block", "funnel", "hourglass"};
  if (std::find(shapes.begin(), shapes.end(), name) == shapes.end()) {
    reader.Fail(node.source(),
                what + ": unknown shape \"" + name + "\"" + SuggestName(name, shapes));
  }
  return name;
}

std::vector<int64_t> ReadWidths(const Reader& reader, const toml::node& node,
                                const std::string& what) {
  const toml::array& array = reader.Array(node, what);
  if (array.empty()) reader.Fail(node.source(), what + " is empty: give at least one hidden layer");
  std::vector<int64_t> widths;
  for (size_t i = 0; i < array.size(); ++i) {
    widths.push_back(
        reader.Integer(*array.get(i), what + "[" + std::to_string(i) + "]", 1, kMaxCount));
  }
  return widths;
}

// Sets the configuration key `key` (one of kGridKeys, or "widths") from `node`; returns the
// value's label for a generated configuration name.
std::string Apply(const Reader& reader, const std::string& key, const toml::node& node,
                  const std::string& what, Params& p) {
  if (key == "activation") return p.config.activation = CheckedActivation(reader, node, what);
  if (key == "initializer") return p.config.initializer = CheckedInitializer(reader, node, what);
  if (key == "shape") return p.shape = CheckedShape(reader, node, what);
  if (key == "widths") {
    p.widths = ReadWidths(reader, node, what);
    return "widths";
  }
  if (key == "depth")
    return "depth" + std::to_string(p.depth = reader.Integer(node, what, 1, 10000));
  if (key == "width")
    return "width" + std::to_string(p.width = reader.Integer(node, what, 1, kMaxCount));
  if (key == "batch_size") {
    return "batch" +
           std::to_string(p.config.batch_size = reader.Integer(node, what, 1, kMaxCount * 100));
  }
  if (key == "epochs") {
    p.config.epochs = static_cast<int>(reader.Integer(node, what, 0, kMaxCount));
    return "epochs" + std::to_string(p.config.epochs);
  }
  if (key == "learning_rate") {
    p.config.learning_rate = reader.Number(node, what, 0, /*open=*/true);
    if (p.config.learning_rate > std::numeric_limits<float>::max()) {
      reader.Fail(node.source(), what + " does not fit a float");
    }
    return "lr" + FormatNumber(p.config.learning_rate, 6);
  }
  if (key == "optimizer") {
    p.config.optimizer = reader.String(node, what);
    if (p.config.optimizer != "sgd" && p.config.optimizer != "adam") {
      reader.Fail(node.source(), what + ": unknown optimizer \"" + p.config.optimizer + "\"" +
                                     SuggestName(p.config.optimizer, {"sgd", "adam"}));
    }
    return p.config.optimizer;
  }
  if (key == "momentum") {
    p.config.momentum = reader.Number(node, what, 0, /*open=*/false);
    if (p.config.momentum >= 1.0) {
      reader.Fail(node.source(),
                  what + " must be in [0, 1), not " + FormatNumber(p.config.momentum, 6));
    }
    return "momentum" + FormatNumber(p.config.momentum, 6);
  }
  if (key == "nesterov") {
    p.config.nesterov = reader.Bool(node, what);
    return p.config.nesterov ? "nesterov" : "classical";
  }
  if (key == "l2") {
    p.config.l2 = reader.Number(node, what, 0, /*open=*/false);
    if (p.config.l2 > std::numeric_limits<float>::max()) {
      reader.Fail(node.source(), what + " does not fit a float");
    }
    return "l2" + FormatNumber(p.config.l2, 6);
  }
  if (key == "radius_fraction") {
    if (!p.ball) reader.Fail(node.source(), what + " applies to data.kind \"ball\" only");
    p.config.radius_fraction = reader.Number(node, what, 0, /*open=*/false);
    return "radius" + FormatNumber(p.config.radius_fraction, 6);
  }
  if (key == "batch_norm") {
    p.config.batch_norm = reader.Bool(node, what);
    return p.config.batch_norm ? "batchnorm" : "plain";
  }
  if (key == "dropout") {
    p.config.dropout = reader.Number(node, what, 0, /*open=*/false);
    if (p.config.dropout >= 1.0) {
      reader.Fail(node.source(),
                  what + " is a rate in [0, 1), not " + FormatNumber(p.config.dropout, 6));
    }
    return "dropout" + FormatNumber(p.config.dropout, 6);
  }
  throw std::logic_error("experiment: no configuration key " + key);
}

// The configuration with its widths: `widths` when given, else the shape's (whose
// depth, width and name the readers have checked).
Config Resolve(Params p) {
  if (p.widths) {
    p.shape.clear();
  } else {
    p.widths = ShapeWidths(p.shape, p.depth, p.width);
  }
  p.config.widths = *p.widths;
  p.config.shape = p.shape;
  return p.config;
}

// Reads data.path's CSV once while parsing, so that `check` finds an unreadable or malformed
// file, and takes its features and rows. The path is relative to the spec's folder.
void LoadCsvData(const Reader& reader, const toml::node& node, DataSpec& data) {
  std::filesystem::path file = data.path;
  if (file.is_relative()) file = std::filesystem::path(reader.path()).parent_path() / file;
  data.path = file.lexically_normal().string();
  try {
    const Dataset d = LoadCsv(data.path, data.label_column);
    data.dims = d.x.cols();
    data.points = d.x.rows();
  } catch (const std::invalid_argument& e) {
    reader.Fail(node.source(), "data.path: " + std::string(e.what()));
  }
  if (data.points < 2) {
    reader.Fail(node.source(), "data.path: " + data.path + " has " + std::to_string(data.points) +
                                   " rows; at least 2 are needed");
  }
  std::ifstream in(data.path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  // std::hash is the same in every process of one build, which is all a resume needs.
  data.content_hash = std::hash<std::string>{}(bytes.str());
}

// The loss of a data kind when the spec names none.
std::string DefaultLoss(const std::string& kind) {
  if (kind == "blobs") return "sparse_categorical_crossentropy";
  if (kind == "regression") return "mean_squared_error";
  return "binary_crossentropy";
}

// model.loss and model.output_units, checked against the data's labels.
void ReadLoss(const Reader& reader, const toml::table* model_table, const DataSpec& data,
              ModelSpec& model) {
  model.loss = DefaultLoss(data.kind);
  const toml::node* loss_node = model_table ? model_table->get("loss") : nullptr;
  if (loss_node != nullptr) {
    model.loss = reader.String(*loss_node, "model.loss");
    if (std::find(kLosses.begin(), kLosses.end(), model.loss) == kLosses.end()) {
      reader.Fail(loss_node->source(), "model.loss: unknown or unsupported loss \"" + model.loss +
                                           "\"" + SuggestName(model.loss, kLosses));
    }
    const bool classes = model.loss == "sparse_categorical_crossentropy";
    const bool binary = model.loss == "binary_crossentropy";
    if ((classes && data.kind != "blobs") ||
        (binary && (data.kind == "blobs" || data.kind == "regression"))) {
      reader.Fail(loss_node->source(),
                  "model.loss \"" + model.loss + "\" cannot take the labels of data.kind \"" +
                      data.kind + "\" (" + data.kind +
                      (data.kind == "blobs"        ? ": class indices 0..classes-1"
                       : data.kind == "regression" ? ": continuous targets"
                                                   : ": 0/1 labels") +
                      "; its loss by default: " + DefaultLoss(data.kind) + ")");
    }
  }
  model.metric = MakeLoss(fanin::Config(model.loss))->metric_name();
  model.output_units = model.loss == "sparse_categorical_crossentropy" ? data.classes : 1;
  if (const toml::node* n = model_table ? model_table->get("output_units") : nullptr) {
    const int64_t units = reader.Integer(*n, "model.output_units", 1, kMaxCount);
    if (units != model.output_units) {
      reader.Fail(n->source(),
                  "model.output_units is " + std::to_string(units) + ", but " + model.loss +
                      " on data.kind \"" + data.kind + "\" needs " +
                      std::to_string(model.output_units) +
                      (model.output_units == 1 ? " output" : " outputs, one per class"));
    }
  }
}

Params ReadBase(const Reader& reader, const toml::table& root, DataSpec& data, ModelSpec& model) {
  Params p;
  if (const toml::node* node = root.get("data")) {
    const toml::table& t = reader.Table(*node, "data");
    reader.CheckKeys(t, "data.", kDataKeys);
    if (const toml::node* kind = t.get("kind")) {
      data.kind = reader.String(*kind, "data.kind");
      if (std::find(kDataKinds.begin(), kDataKinds.end(), data.kind) == kDataKinds.end()) {
        reader.Fail(kind->source(), "data.kind: unknown kind \"" + data.kind + "\"" +
                                        SuggestName(data.kind, kDataKinds));
      }
    }
    p.ball = data.kind == "ball";
    // Keys that only some kinds read are refused by the others, never ignored.
    const auto only_for = [&](const char* key, const std::vector<std::string>& kinds) {
      const toml::node* n = t.get(key);
      if (n == nullptr || std::find(kinds.begin(), kinds.end(), data.kind) != kinds.end()) {
        return n;
      }
      reader.Fail(n->source(), "data." + std::string(key) + " does not apply to data.kind \"" +
                                   data.kind + "\"" +
                                   (data.kind == "csv" ? " (the file gives its features and rows)"
                                    : data.kind == "parabola" ? " (its points have 2 features)"
                                                              : ""));
    };
    if (const toml::node* n = only_for("dims", {"ball", "blobs", "regression"})) {
      data.dims = reader.Integer(*n, "data.dims", 1, kMaxCount);
    }
    if (const toml::node* n = only_for("classes", {"blobs"})) {
      data.classes = reader.Integer(*n, "data.classes", 2, kMaxCount);
    }
    if (const toml::node* n = only_for("noise", {"regression"})) {
      data.noise = reader.Number(*n, "data.noise", 0.0, false);
    }
    if (const toml::node* n = only_for("points", {"ball", "blobs", "regression", "parabola"})) {
      data.points = reader.Integer(*n, "data.points", 2, kMaxCount * 100);
      if (data.kind == "blobs" && data.points < data.classes) {
        reader.Fail(n->source(), "data.points " + std::to_string(data.points) + " is fewer than " +
                                     "the " + std::to_string(data.classes) + " classes");
      }
      if (data.kind == "parabola" && data.points % 2 != 0) {
        reader.Fail(n->source(), "data.points must be even for the parabolas (half on each), not " +
                                     std::to_string(data.points));
      }
    }
    if (const toml::node* n = only_for("radius_fraction", {"ball"})) {
      Apply(reader, "radius_fraction", *n, "data.radius_fraction", p);
    }
    if (const toml::node* n = only_for("label_column", {"csv"})) {
      data.label_column = reader.String(*n, "data.label_column");
    }
    if (data.kind == "parabola") data.dims = 2;
    if (const toml::node* n = only_for("path", {"csv"})) {
      data.path = reader.String(*n, "data.path");
      LoadCsvData(reader, *n, data);
    } else if (data.kind == "csv") {
      reader.Fail(node->source(), "data.kind \"csv\" needs data.path, the CSV file");
    }
  }
  if (const toml::node* node = root.get("model")) {
    const toml::table& t = reader.Table(*node, "model");
    reader.CheckKeys(t, "model.", kModelKeys);
    for (const char* key : {"widths", "shape", "depth", "width", "activation", "initializer",
                            "batch_norm", "dropout"}) {
      if (const toml::node* n = t.get(key)) Apply(reader, key, *n, "model." + std::string(key), p);
    }
    if (p.widths) {
      for (const char* key : {"shape", "depth", "width"}) {
        if (const toml::node* n = t.get(key)) {
          reader.Fail(n->source(), "model." + std::string(key) +
                                       " conflicts with model.widths: give the widths, or a "
                                       "shape with depth and width");
        }
      }
    }
    if (const toml::node* n = t.get("output_initializer")) {
      p.config.output_initializer = CheckedInitializer(reader, *n, "model.output_initializer");
    }
  }
  const toml::node* model_node = root.get("model");
  ReadLoss(reader, model_node ? model_node->as_table() : nullptr, data, model);
  if (const toml::node* node = root.get("train")) {
    const toml::table& t = reader.Table(*node, "train");
    reader.CheckKeys(t, "train.", kTrainKeys);
    for (const char* key :
         {"optimizer", "learning_rate", "momentum", "nesterov", "l2", "batch_size", "epochs"}) {
      if (const toml::node* n = t.get(key)) Apply(reader, key, *n, "train." + std::string(key), p);
    }
  }
  return p;
}

MeasureSpec ReadMeasure(const Reader& reader, const toml::table& root) {
  MeasureSpec m;
  const toml::node* node = root.get("measure");
  if (node == nullptr) return m;
  const toml::table& t = reader.Table(*node, "measure");
  reader.CheckKeys(t, "measure.", kMeasureKeys);
  if (const toml::node* n = t.get("init")) m.init = reader.Bool(*n, "measure.init");
  if (const toml::node* n = t.get("every_epochs")) {
    m.every_epochs = static_cast<int>(reader.Integer(*n, "measure.every_epochs", 0, kMaxCount));
  }
  if (const toml::node* n = t.get("every_steps")) {
    m.every_steps = reader.Integer(*n, "measure.every_steps", 0, kMaxCount * 100);
  }
  if (const toml::node* n = t.get("on")) {
    const std::string on = reader.String(*n, "measure.on");
    if (on != "full" && on != "batch") {
      reader.Fail(n->source(),
                  "measure.on: unknown value \"" + on + "\"" + SuggestName(on, {"full", "batch"}));
    }
    m.full = on == "full";
  }
  if (const toml::node* n = t.get("statistics")) {
    const toml::array& array = reader.Array(*n, "measure.statistics");
    if (array.empty()) reader.Fail(n->source(), "measure.statistics is empty: name at least one");
    const std::vector<std::string> valid = StatisticNames();
    m.statistics.clear();
    for (size_t i = 0; i < array.size(); ++i) {
      const std::string name =
          reader.String(*array.get(i), "measure.statistics[" + std::to_string(i) + "]");
      if (std::find(valid.begin(), valid.end(), name) == valid.end()) {
        reader.Fail(array.get(i)->source(), "measure.statistics: unknown statistic \"" + name +
                                                "\"" + SuggestName(name, valid));
      }
      if (name == "update_ratio" && m.every_steps == 0) {
        reader.Fail(array.get(i)->source(),
                    "measure.statistics: update_ratio is measured on training steps only; set "
                    "measure.every_steps");
      }
      m.statistics.push_back(name);
    }
  }
  if (const toml::node* n = t.get("histogram_bins")) {
    m.histogram_bins =
        static_cast<int>(reader.Integer(*n, "measure.histogram_bins", 0, kMaxHistogramBins));
  }
  if (const toml::node* n = t.get("histograms")) {
    const toml::array& array = reader.Array(*n, "measure.histograms");
    const std::vector<std::string> valid(std::begin(kDenseTensors), std::end(kDenseTensors));
    for (size_t i = 0; i < array.size(); ++i) {
      const std::string what = "measure.histograms[" + std::to_string(i) + "]";
      const std::string name = reader.String(*array.get(i), what);
      if (std::find(valid.begin(), valid.end(), name) == valid.end()) {
        reader.Fail(array.get(i)->source(),
                    what + ": unknown tensor \"" + name + "\"" + SuggestName(name, valid));
      }
      m.histograms.push_back(name);
    }
    if (!m.histograms.empty() && m.histogram_bins == 0) {
      reader.Fail(n->source(), "measure.histograms needs measure.histogram_bins >= 1");
    }
  }
  if (const toml::node* n = t.get("evaluate")) m.evaluate = reader.Bool(*n, "measure.evaluate");
  if (const toml::node* n = t.get("weights")) m.weights = reader.Bool(*n, "measure.weights");
  if (const toml::node* n = t.get("target_accuracy")) {
    m.target_accuracy = reader.Number(*n, "measure.target_accuracy", 0.0, true);
    if (*m.target_accuracy > 1.0) {
      reader.Fail(n->source(), "measure.target_accuracy is a fraction in (0, 1], not " +
                                   FormatNumber(*m.target_accuracy));
    }
    m.evaluate = true;
  }
  if (const toml::node* n = t.get("target_loss")) {
    m.target_loss = reader.Number(*n, "measure.target_loss", 0.0, true);
    m.evaluate = true;
  }
  if (!m.init && m.every_epochs == 0 && m.every_steps == 0 && !m.evaluate) {
    reader.Fail(node->source(),
                "measure: nothing is measured; set init = true, every_epochs >= 1, "
                "every_steps >= 1 or evaluate = true");
  }
  return m;
}

// The Cartesian product of [grid]'s lists over `base`; the names join `prefix` (a
// [[config]]'s name, or none) and the values of the keys with more than one value.
std::vector<Config> ExpandGrid(const Reader& reader, const toml::node& node, const Params& base,
                               const std::string& prefix = "") {
  const toml::table& grid = reader.Table(node, "grid");
  reader.CheckKeys(grid, "grid.", kGridKeys);
  if (grid.empty())
    reader.Fail(node.source(), "[grid] is empty: give at least one key with a list of values");
  if (base.widths && (grid.contains("shape") || grid.contains("depth") || grid.contains("width"))) {
    reader.Fail(node.source(), "[grid] varies the shape, depth or width, but " +
                                   (prefix.empty() ? std::string("model.widths fixes")
                                                   : "configuration \"" + prefix + "\" gives") +
                                   " the widths: give a shape, depth and width instead");
  }
  std::vector<std::pair<std::string, const toml::array*>> axes;
  for (const std::string& key : kGridKeys) {
    const toml::node* values = grid.get(key);
    if (values == nullptr) continue;
    const toml::array& array = reader.Array(*values, "grid." + key);
    if (array.empty())
      reader.Fail(values->source(), "grid." + key + " is empty: give at least one value");
    axes.emplace_back(key, &array);
  }
  size_t total = 1;
  for (const auto& [key, array] : axes) total *= array->size();
  std::vector<Config> configs;
  for (size_t index = 0; index < total; ++index) {
    Params p = base;
    std::string name;
    size_t rest = index;
    std::vector<size_t> picks(axes.size());
    for (size_t a = axes.size(); a-- > 0;) {
      picks[a] = rest % axes[a].second->size();
      rest /= axes[a].second->size();
    }
    for (size_t a = 0; a < axes.size(); ++a) {
      const auto& [key, array] = axes[a];
      const std::string label = Apply(reader, key, *array->get(picks[a]),
                                      "grid." + key + "[" + std::to_string(picks[a]) + "]", p);
      if (array->size() > 1) name += (name.empty() ? "" : "_") + label;
    }
    if (!prefix.empty()) name = name.empty() ? prefix : prefix + "_" + name;
    p.config.name = name.empty() ? p.config.activation + "_" + p.config.initializer : name;
    configs.push_back(Resolve(p));
  }
  return configs;
}

// The [[config]] tables over `base`; with a [grid] too, each crossed with the grid's product.
std::vector<Config> ReadConfigs(const Reader& reader, const toml::node& node, const Params& base,
                                const toml::node* grid) {
  const toml::array& tables = reader.Array(node, "config");
  if (tables.empty()) reader.Fail(node.source(), "config is empty: give at least one [[config]]");
  std::vector<std::string> keys = {"name", "widths"};
  keys.insert(keys.end(), kGridKeys.begin(), kGridKeys.end());
  std::vector<Config> configs;
  std::vector<std::string> names;  // of the tables, before any grid
  for (size_t i = 0; i < tables.size(); ++i) {
    const std::string what = "config[" + std::to_string(i) + "]";
    const toml::table& t = reader.Table(*tables.get(i), what);
    reader.CheckKeys(t, what + ".", keys);
    const toml::node* name = t.get("name");
    if (name == nullptr) reader.Fail(t.source(), what + " has no name");
    Params p = base;
    p.config.name = reader.String(*name, what + ".name");
    if (p.config.name.empty() || p.config.name.find('/') != std::string::npos) {
      reader.Fail(name->source(), what + ".name must be non-empty and hold no '/'");
    }
    if (std::find(names.begin(), names.end(), p.config.name) != names.end()) {
      reader.Fail(name->source(), what + ".name \"" + p.config.name + "\" is already taken");
    }
    names.push_back(p.config.name);
    for (size_t k = 1; k < keys.size(); ++k) {
      if (const toml::node* n = t.get(keys[k])) Apply(reader, keys[k], *n, what + "." + keys[k], p);
    }
    if (t.contains("widths") &&
        (t.contains("shape") || t.contains("depth") || t.contains("width"))) {
      reader.Fail(t.source(),
                  what + " gives widths and a shape, depth or width: give one or the other");
    }
    if (!t.contains("widths") &&
        (t.contains("shape") || t.contains("depth") || t.contains("width"))) {
      p.widths.reset();
    }
    if (grid == nullptr) {
      configs.push_back(Resolve(p));
      continue;
    }
    for (const std::string& key : kGridKeys) {
      if (t.contains(key) && reader.Table(*grid, "grid").contains(key)) {
        reader.Fail(t.get(key)->source(), what + "." + key +
                                              " is also a [grid] key: give it in "
                                              "one place");
      }
    }
    for (Config& c : ExpandGrid(reader, *grid, p, p.config.name)) configs.push_back(std::move(c));
  }
  return configs;
}

// [compare]: `pairs` of configuration names, or a `baseline` every other one is compared
// with.
std::string ConfigText(const Config& c);

// compare.baseline = { KEY = VALUE }: each configuration whose KEY differs is compared with
// the one that differs from it in KEY alone, KEY having VALUE (he_normal_depth10 with
// he_uniform_depth10, not with he_uniform_depth5).
std::vector<std::pair<std::string, std::string>> PairsWithinGroups(
    const Reader& reader, const toml::node& node, const std::vector<Config>& configs) {
  const toml::table& t = *node.as_table();
  const std::vector<std::string> keys = {
      "activation", "initializer", "batch_size", "epochs",   "learning_rate", "radius_fraction",
      "batch_norm", "dropout",     "optimizer",  "momentum", "nesterov",      "l2"};
  reader.CheckKeys(t, "compare.baseline.", keys);
  if (t.size() != 1) {
    reader.Fail(node.source(),
                "compare.baseline as a table names one grid key and its "
                "baseline value, e.g. { initializer = \"he_uniform\" }");
  }
  const std::string key(t.begin()->first.str());
  const toml::node& value = t.begin()->second;
  Params parsed;
  const std::string what = "compare.baseline." + key;
  Apply(reader, key, value, what, parsed);
  const auto with_baseline_value = [&key](Config c, const Config& from) {
    if (key == "activation") c.activation = from.activation;
    if (key == "initializer") c.initializer = from.initializer;
    if (key == "batch_size") c.batch_size = from.batch_size;
    if (key == "epochs") c.epochs = from.epochs;
    if (key == "learning_rate") c.learning_rate = from.learning_rate;
    if (key == "radius_fraction") c.radius_fraction = from.radius_fraction;
    if (key == "batch_norm") c.batch_norm = from.batch_norm;
    if (key == "dropout") c.dropout = from.dropout;
    if (key == "optimizer") c.optimizer = from.optimizer;
    if (key == "momentum") c.momentum = from.momentum;
    if (key == "nesterov") c.nesterov = from.nesterov;
    if (key == "l2") c.l2 = from.l2;
    return c;
  };
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const Config& a : configs) {
    const std::string target = ConfigText(with_baseline_value(a, parsed.config));
    if (target == ConfigText(a)) continue;  // a baseline itself
    const auto b = std::find_if(configs.begin(), configs.end(),
                                [&target](const Config& c) { return ConfigText(c) == target; });
    if (b == configs.end()) {
      reader.Fail(value.source(), what + ": configuration \"" + a.name +
                                      "\" has no counterpart that differs from it in " + key +
                                      " alone");
    }
    pairs.emplace_back(a.name, b->name);
  }
  if (pairs.empty()) {
    reader.Fail(value.source(), what + ": every configuration has this value; nothing to compare");
  }
  return pairs;
}

bool IsOutcome(const std::string& statistic) {
  return std::find(kOutcomes.begin(), kOutcomes.end(), statistic) != kOutcomes.end();
}

CompareSpec ReadCompare(const Reader& reader, const toml::table& root, const MeasureSpec& measure,
                        const std::vector<Config>& configs) {
  CompareSpec compare;
  const toml::node* node = root.get("compare");
  if (node == nullptr) return compare;
  const toml::table& t = reader.Table(*node, "compare");
  reader.CheckKeys(t, "compare.", {"statistic", "pairs", "baseline"});
  if (const toml::node* n = t.get("statistic")) {
    compare.statistic = reader.String(*n, "compare.statistic");
    std::vector<std::string> valid = StatisticNames();
    valid.insert(valid.end(), kOutcomes.begin(), kOutcomes.end());
    if (std::find(valid.begin(), valid.end(), compare.statistic) == valid.end()) {
      reader.Fail(n->source(), "compare.statistic: unknown statistic \"" + compare.statistic +
                                   "\"" + SuggestName(compare.statistic, valid));
    }
    if (compare.statistic == "update_ratio") {
      reader.Fail(n->source(),
                  "compare.statistic update_ratio: comparisons are of the "
                  "measurements at initialization and after epochs, which have "
                  "no update; compare it in results.csv's @train_step rows");
    }
    const std::string& outcome = compare.statistic;
    if (IsOutcome(outcome)) {
      if (!measure.evaluate) {
        reader.Fail(n->source(), "compare.statistic " + outcome +
                                     " is a training outcome: set measure.evaluate = true (or "
                                     "a measure.target_...)");
      }
      if (outcome == "epochs_to_accuracy" && !measure.target_accuracy) {
        reader.Fail(n->source(),
                    "compare.statistic epochs_to_accuracy needs "
                    "measure.target_accuracy");
      }
      if (outcome == "epochs_to_loss" && !measure.target_loss) {
        reader.Fail(n->source(), "compare.statistic epochs_to_loss needs measure.target_loss");
      }
      for (const Config& c : configs) {
        if (c.epochs == 0) {
          reader.Fail(n->source(), "compare.statistic " + outcome +
                                       " needs training, but "
                                       "configuration \"" +
                                       c.name + "\" has epochs = 0");
        }
      }
    }
  }
  std::vector<std::string> names;
  for (const Config& c : configs) names.push_back(c.name);
  const auto config_name = [&](const toml::node& n, const std::string& what) {
    std::string name = reader.String(n, what);
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      reader.Fail(n.source(),
                  what + ": no configuration \"" + name + "\"" + SuggestName(name, names));
    }
    return name;
  };
  const toml::node* pairs = t.get("pairs");
  const toml::node* baseline = t.get("baseline");
  if ((pairs == nullptr) == (baseline == nullptr)) {
    reader.Fail(node->source(), "[compare] needs either pairs or baseline");
  }
  if (baseline != nullptr && baseline->is_table()) {
    compare.pairs = PairsWithinGroups(reader, *baseline, configs);
    return compare;
  }
  if (baseline != nullptr) {
    const std::string b = config_name(*baseline, "compare.baseline");
    for (const std::string& a : names) {
      if (a != b) compare.pairs.emplace_back(a, b);
    }
    return compare;
  }
  const toml::array& array = reader.Array(*pairs, "compare.pairs");
  if (array.empty()) reader.Fail(pairs->source(), "compare.pairs is empty: give at least one pair");
  for (size_t i = 0; i < array.size(); ++i) {
    const std::string what = "compare.pairs[" + std::to_string(i) + "]";
    const toml::array& pair = reader.Array(*array.get(i), what);
    if (pair.size() != 2) {
      reader.Fail(array.get(i)->source(),
                  what + " must name two configurations, not " + std::to_string(pair.size()));
    }
    compare.pairs.emplace_back(config_name(*pair.get(0), what + "[0]"),
                               config_name(*pair.get(1), what + "[1]"));
    if (compare.pairs.back().first == compare.pairs.back().second) {
      reader.Fail(array.get(i)->source(), what + " compares a configuration with itself");
    }
  }
  return compare;
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw SpecError(path + ": cannot read the spec file (" + std::strerror(errno) + ")");
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) throw SpecError(path + ": cannot read the spec file");
  return text.str();
}

std::string LayerName(size_t layer, size_t layers) {
  if (layer + 1 == layers) return "out";
  std::string name = "h";
  return name.append(std::to_string(layer + 1));
}

// Every layer of the model BuildModel makes: the measured ones (LayerNames) and, after each
// hidden one, its "_bn" and "_dropout" layers when the configuration has them.
std::vector<std::string> ModelLayerNames(const Config& config) {
  std::vector<std::string> names;
  const size_t layers = config.widths.size() + 1;
  for (size_t l = 0; l < layers; ++l) {
    names.push_back(LayerName(l, layers));
    if (l + 1 == layers) break;
    if (config.batch_norm) names.push_back(names.back() + "_bn");
    if (config.dropout > 0) names.push_back(LayerName(l, layers) + "_dropout");
  }
  return names;
}

// The statistics of the Dense layers alone, the ones the tables and plots compare across
// configurations (batch norm and dropout layers have no kernel and no grad ratio); runs.h5
// keeps every layer's.
void KeepMeasuredLayers(StepStats& step, const Config& config) {
  const size_t per_hidden = 1 + (config.batch_norm ? 1 : 0) + (config.dropout > 0 ? 1 : 0);
  if (per_hidden == 1) return;
  std::vector<LayerStats> kept;
  for (size_t i = 0; i < step.layers.size(); ++i) {
    if (i % per_hidden == 0) kept.push_back(std::move(step.layers[i]));
  }
  step.layers = std::move(kept);
}

std::vector<std::string> LayerNames(const Config& config) {
  std::vector<std::string> names;
  for (size_t l = 0; l <= config.widths.size(); ++l)
    names.push_back(LayerName(l, config.widths.size() + 1));
  return names;
}

std::string WidthsText(const std::vector<int64_t>& widths) {
  std::string text;
  for (int64_t w : widths) {
    if (!text.empty()) text += ' ';
    text += std::to_string(w);
  }
  return text;
}

std::string OutputInitializer(const Config& c) {
  return c.output_initializer.empty() ? c.initializer : c.output_initializer;
}

// Every parameter of a configuration, as configs.csv and check show it.
std::string ConfigText(const Config& c) {
  return c.activation + ", " + Initializer::FromName(c.initializer).name() + ", widths [" +
         WidthsText(c.widths) + "]" + (c.shape.empty() ? "" : " (" + c.shape + ")") +
         ", radius_fraction " + FormatNumber(c.radius_fraction, 6) + ", " + c.optimizer + " lr " +
         FormatNumber(c.learning_rate, 6) +
         (c.momentum > 0 ? " momentum " + FormatNumber(c.momentum, 6) : "") +
         (c.nesterov ? " nesterov" : "") + (c.l2 > 0 ? " l2 " + FormatNumber(c.l2, 6) : "") +
         ", batch " + std::to_string(c.batch_size) + ", " + std::to_string(c.epochs) + " epochs" +
         (c.output_initializer.empty()
              ? ""
              : ", output layer " + Initializer::FromName(c.output_initializer).name()) +
         (c.batch_norm ? ", batch norm" : "") +
         (c.dropout > 0 ? ", dropout " + FormatNumber(c.dropout, 6) : "");
}

int64_t Measurements(const Spec& spec, const Config& c) {
  return (spec.measure.init ? 1 : 0) +
         (spec.measure.every_epochs > 0 ? c.epochs / spec.measure.every_epochs : 0);
}

int64_t MeasuredPoints(const Spec& spec, const Config& c) {
  return spec.measure.full ? spec.data.points : std::min(c.batch_size, spec.data.points);
}

// The data of run seed `seed`: the ball from the seed, the parabolas and the CSV file as
// they are.
Dataset MakeData(const Spec& spec, const Config& c, uint64_t seed) {
  if (spec.data.kind == "parabola") return Parabola(spec.data.points / 2);
  if (spec.data.kind == "blobs") {
    return Blobs(spec.data.classes, spec.data.dims, spec.data.points, 1.0, 5.0, seed);
  }
  if (spec.data.kind == "regression") {
    return Regression(spec.data.dims, spec.data.points, spec.data.noise, seed);
  }
  if (spec.data.kind == "csv") return LoadCsv(spec.data.path, spec.data.label_column);
  return Ball(spec.data.dims, spec.data.points, c.radius_fraction, seed);
}

// How MakeData makes it, for runs.h5 and check.
std::string DataText(const Spec& spec, const Config& c, const std::string& seed) {
  if (spec.data.kind == "parabola") {
    return "Parabola(n=" + std::to_string(spec.data.points / 2) + "), the same for every seed";
  }
  if (spec.data.kind == "csv") {
    return "LoadCsv(" + spec.data.path + ", label_column=" + spec.data.label_column + "), " +
           std::to_string(spec.data.points) + " rows, " + std::to_string(spec.data.dims) +
           " features, the same for every seed";
  }
  if (spec.data.kind == "blobs") {
    return "Blobs(classes=" + std::to_string(spec.data.classes) +
           ", n_dims=" + std::to_string(spec.data.dims) +
           ", n_points=" + std::to_string(spec.data.points) +
           ", spread=1, center_box=5, seed=" + seed + ")";
  }
  if (spec.data.kind == "regression") {
    return "Regression(n_dims=" + std::to_string(spec.data.dims) +
           ", n_points=" + std::to_string(spec.data.points) +
           ", noise=" + FormatNumber(spec.data.noise, 6) + ", seed=" + seed + ")";
  }
  return "Ball(n_dims=" + std::to_string(spec.data.dims) +
         ", n_points=" + std::to_string(spec.data.points) +
         ", radius_fraction=" + FormatNumber(c.radius_fraction, 6) + ", seed=" + seed + ")";
}

// What the results depend on besides the seeds and the backend: RunStore's key.
std::string Fingerprint(const Spec& spec) {
  std::string text =
      "fanin_experiment data " + spec.data.kind + " dims " + std::to_string(spec.data.dims) +
      " points " + std::to_string(spec.data.points) +
      (spec.data.kind == "csv" ? " file " + spec.data.path + " label " + spec.data.label_column +
                                     " hash " + std::to_string(spec.data.content_hash)
                               : "") +
      (spec.data.kind == "blobs" ? " classes " + std::to_string(spec.data.classes) : "") +
      (spec.data.kind == "regression" ? " noise " + FormatNumber(spec.data.noise, 17) : "") +
      (spec.model.loss != "binary_crossentropy" ? " loss " + spec.model.loss : "") +
      "; measure init " + std::to_string(spec.measure.init) + " every " +
      std::to_string(spec.measure.every_epochs) +
      (spec.measure.every_steps > 0 ? " steps " + std::to_string(spec.measure.every_steps) : "") +
      " on " + (spec.measure.full ? "full" : "batch") + " bins " +
      std::to_string(spec.measure.histogram_bins) + (spec.measure.evaluate ? " evaluate" : "") +
      (spec.measure.weights ? " weights" : "") + ";";
  for (const Config& c : spec.configs) text += " " + c.name + ": " + ConfigText(c) + ";";
  return text;
}

// ---- Runs ---------------------------------------------------------------------------------

std::string Encode(const RunRecord& r) {
  study::Encoder encoder;
  encoder.Put(r.device);
  encoder.Put(r.measurements);
  encoder.Put(r.step_measurements);
  encoder.Put(r.epochs);
  encoder.Put(r.diverged_step);
  encoder.Put(static_cast<uint8_t>(r.initial.has_value()));
  if (r.initial) {
    encoder.Put(r.initial->loss);
    encoder.Put(r.initial->metric);
  }
  encoder.Put(r.weights);
  return encoder.bytes();
}

RunRecord Decode(const std::string& bytes) {
  study::Decoder decoder(bytes);
  RunRecord r;
  decoder.Get(r.device);
  decoder.Get(r.measurements);
  decoder.Get(r.step_measurements);
  decoder.Get(r.epochs);
  decoder.Get(r.diverged_step);
  if (decoder.Next<uint8_t>() != 0) {
    r.initial.emplace();
    decoder.Get(r.initial->loss);
    decoder.Get(r.initial->metric);
  }
  decoder.Get(r.weights);
  return r;
}

RunRecord RunOne(const std::shared_ptr<Backend>& backend, const Spec& spec, const Config& c,
                 int seed) {
  const auto s = static_cast<uint64_t>(seed);
  const Dataset data = MakeData(spec, c, s);
  const Tensor x = data.x.To(backend), y = data.y.To(backend);
  const int64_t m = MeasuredPoints(spec, c);
  const Tensor mx = m == x.rows() ? x : x.Rows(0, m), my = m == y.rows() ? y : y.Rows(0, m);
  Sequential model = BuildModel(backend, spec, c, s);
  const std::vector<std::string> names = ModelLayerNames(c);
  RunRecord result{.device = backend->Describe()};
  bool fused = NeedsFusedStats(spec.compare.statistic);
  for (const std::string& statistic : spec.measure.statistics) {
    fused = fused || NeedsFusedStats(statistic);
  }
  // measure.every_steps: a fused hook on the training steps, which sees their updates.
  std::shared_ptr<StatsHook> steps;
  if (spec.measure.every_steps > 0 && c.epochs > 0) {
    steps = std::make_shared<StatsHook>(
        StatsHookOptions{.schedule = StepSchedule::Every(spec.measure.every_steps),
                         .mode = StatsMode::kFused,
                         .log2_histograms = std::nullopt});
  }
  const auto measure = [&](int epochs_trained) {
    // The zero and saturation counts come from a fused hook on the same pass, for this pass
    // only; everything else from the exact statistics.
    auto counts = std::make_shared<StatsHook>(
        StatsHookOptions{.mode = StatsMode::kFused, .log2_histograms = std::nullopt});
    model.ClearHooks();
    if (fused) model.AddHook(counts);
    model.ComputeGradients(mx, my);
    model.ClearHooks();
    if (steps) model.AddHook(steps);
    StepStats step = ComputeStepStats(model, {model.steps_taken(), epochs_trained, 0}, names,
                                      spec.measure.histogram_bins);
    if (fused) {
      const StepStats& from = counts->steps().at(0);
      for (size_t l = 0; l < step.layers.size(); ++l) {
        for (NamedStats& to : step.layers[l].tensors) {
          const TensorStats* f = from.layers[l][to.name];
          if (f == nullptr) continue;
          to.stats.zero_count = f->zero_count;
          to.stats.saturated_count = f->saturated_count;
        }
      }
    }
    result.measurements.push_back(std::move(step));
  };
  if (spec.measure.init) measure(0);
  if (spec.measure.evaluate) result.initial = model.Evaluate(x, y);
  if (spec.measure.weights) result.weights.push_back(model.parameters().ToHost());
  if (c.epochs == 0) return result;
  FitOptions fit{.epochs = c.epochs, .batch_size = c.batch_size, .shuffle_seed = s};
  fit.on_epoch_end = [&](const EpochLogs& logs) {
    EpochLogs recorded = logs;
    if (spec.measure.evaluate) {
      // The end-of-epoch weights on all points: the running training loss mixes the weights
      // of the whole epoch and lags behind.
      const Evaluation e = model.Evaluate(x, y);
      recorded.val_loss = e.loss;
      recorded.val_metric = e.metric;
    }
    result.epochs.push_back(recorded);
    if (spec.measure.weights) result.weights.push_back(model.parameters().ToHost());
    // Checked once per epoch, not per step, since reading the loss makes a GPU wait.
    if (!std::isfinite(logs.loss)) {
      result.diverged_step = model.steps_taken();
      return false;
    }
    if (spec.measure.every_epochs > 0 && (logs.epoch + 1) % spec.measure.every_epochs == 0) {
      measure(logs.epoch + 1);
    }
    return true;
  };
  if (steps) model.AddHook(steps);
  model.Fit(x, y, fit);
  if (steps) {
    result.step_measurements = steps->steps();
    for (StepStats& step : result.step_measurements) {
      for (size_t l = 0; l < step.layers.size(); ++l) step.layers[l].name = names[l];
    }
  }
  return result;
}

// A statistic of one layer's measurement; nullopt where the layer lacks that tensor (the
// output layer has no activation apart from its z).
std::optional<double> Statistic(const LayerStats& layer, const std::string& name) {
  if (name == "grad_ratio") return layer.grad_ratio;
  if (name == "update_ratio") {
    if (std::isnan(layer.update_ratio)) return std::nullopt;
    return layer.update_ratio;
  }
  const auto [tensor, reading] = ParseStatistic(name);
  if (reading == nullptr) throw std::logic_error("experiment: no statistic " + name);
  const TensorStats* t = layer[tensor];
  if (t == nullptr) return std::nullopt;
  return reading->of(*t);
}

// A run-level statistic (kOutcomes) from the end-of-epoch evaluations. A run that diverged
// or never reached a target counts as the worst: an infinite loss or number of epochs.
double Outcome(const Spec& spec, const RunRecord& r, const std::string& name) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const auto finite_or_worst = [](double v, double worst) { return std::isfinite(v) ? v : worst; };
  if (name == "final_loss") {
    return r.diverged_step >= 0 || r.epochs.empty()
               ? kInf
               : finite_or_worst(r.epochs.back().val_loss, kInf);
  }
  if (name == "final_accuracy") {
    return r.diverged_step >= 0 || r.epochs.empty()
               ? 0.0
               : finite_or_worst(r.epochs.back().val_metric, 0.0);
  }
  const bool accuracy = name == "epochs_to_accuracy";
  if (!accuracy && name != "epochs_to_loss") {
    throw std::logic_error("experiment: no outcome " + name);
  }
  for (const EpochLogs& logs : r.epochs) {
    const bool reached = accuracy ? logs.val_metric >= *spec.measure.target_accuracy
                                  : logs.val_loss <= *spec.measure.target_loss;
    if (reached) return logs.epoch + 1;
  }
  return kInf;
}

// The outcomes a spec asks for: the final ones when it evaluates, each target's epochs.
std::vector<std::string> Outcomes(const Spec& spec) {
  if (!spec.measure.evaluate) return {};
  // A regression's metric is another error, with no outcome of its own here.
  if (spec.model.metric != "accuracy") {
    std::vector<std::string> names = {"final_loss"};
    if (spec.measure.target_loss) names.push_back("epochs_to_loss");
    return names;
  }
  std::vector<std::string> names = {"final_loss", "final_accuracy"};
  if (spec.measure.target_accuracy) names.push_back("epochs_to_accuracy");
  if (spec.measure.target_loss) names.push_back("epochs_to_loss");
  return names;
}

// Nine significant digits: every float the statistics summarize, back exactly.
std::string Value(double value) { return FormatNumber(value, 9); }

void AddRunRows(study::CsvTable& table, const Spec& spec, const Config& c, int seed,
                const RunRecord& r) {
  const std::string seed_text = std::to_string(seed);
  // The measurements' rows; a training step's statistics carry the suffix @train_step.
  const auto add_measurements = [&](const std::vector<StepStats>& measurements,
                                    const std::string& suffix) {
    for (const StepStats& m : measurements) {
      for (const LayerStats& layer : m.layers) {
        for (const std::string& statistic : spec.measure.statistics) {
          const std::optional<double> value = Statistic(layer, statistic);
          if (!value) continue;
          table.AddRow({c.name, seed_text, std::to_string(m.context.epoch),
                        std::to_string(m.context.step), layer.name, statistic + suffix,
                        Value(*value)});
        }
        // The exact measurements' equal-width histograms (a training step's are log2 ones).
        if (!suffix.empty()) continue;
        for (const std::string& tensor : spec.measure.histograms) {
          const TensorStats* t = layer[tensor];
          if (t == nullptr || t->histogram.empty()) continue;
          const auto row = [&](const std::string& statistic, const std::string& value) {
            table.AddRow({c.name, seed_text, std::to_string(m.context.epoch),
                          std::to_string(m.context.step), layer.name, statistic, value});
          };
          row(tensor + "_hist_lo", Value(t->hist_lo));
          row(tensor + "_hist_hi", Value(t->hist_hi));
          for (size_t b = 0; b < t->histogram.size(); ++b) {
            row(tensor + "_hist_" + std::to_string(b), std::to_string(t->histogram[b]));
          }
        }
      }
    }
  };
  add_measurements(r.measurements, "");
  add_measurements(r.step_measurements, "@train_step");
  const int64_t steps_per_epoch = (spec.data.points + c.batch_size - 1) / c.batch_size;
  const std::string& metric = spec.model.metric;
  for (const EpochLogs& logs : r.epochs) {
    const std::string epoch = std::to_string(logs.epoch + 1);
    const std::string step = std::to_string((logs.epoch + 1) * steps_per_epoch);
    table.AddRow({c.name, seed_text, epoch, step, "", "loss", Value(logs.loss)});
    table.AddRow({c.name, seed_text, epoch, step, "", metric, Value(logs.metric)});
    if (spec.measure.evaluate) {
      table.AddRow({c.name, seed_text, epoch, step, "", "eval_loss", Value(logs.val_loss)});
      table.AddRow({c.name, seed_text, epoch, step, "", "eval_" + metric, Value(logs.val_metric)});
    }
  }
  if (c.epochs > 0) {
    const std::string epochs = std::to_string(r.epochs.size());
    const std::string steps = std::to_string(
        r.diverged_step >= 0 ? r.diverged_step
                             : static_cast<int64_t>(r.epochs.size()) * steps_per_epoch);
    for (const std::string& outcome : Outcomes(spec)) {
      table.AddRow(
          {c.name, seed_text, epochs, steps, "", outcome, Value(Outcome(spec, r, outcome))});
    }
  }
  if (r.diverged_step >= 0) {
    table.AddRow({c.name, seed_text, std::to_string(r.epochs.size()),
                  std::to_string(r.diverged_step), "", "diverged_at_step",
                  std::to_string(r.diverged_step)});
  }
}

// init_study's ratios.csv: per configuration and layer, the quantiles over seeds of
// std(dL/dW) / std(W) at initialization.
void WriteRatiosCsv(const Spec& spec, const std::vector<std::vector<RunRecord>>& runs,
                    const std::string& path) {
  study::CsvTable table({"config", "activation", "initializer", "layer", "n_seeds", "ratio_median",
                         "ratio_p10", "ratio_p90"});
  for (size_t c = 0; c < spec.configs.size(); ++c) {
    const Config& config = spec.configs[c];
    const std::vector<std::string> names = LayerNames(config);
    for (size_t l = 0; l < names.size(); ++l) {
      std::vector<double> ratios;
      for (const RunRecord& r : runs[c]) ratios.push_back(r.measurements[0].layers[l].grad_ratio);
      const plot::Quantiles q = plot::QuantilesOf(ratios);
      table.AddRow({config.name, config.activation,
                    Initializer::FromName(config.initializer).name(), names[l],
                    std::to_string(runs[c].size()), FormatNumber(q.median, 6),
                    FormatNumber(q.p10, 6), FormatNumber(q.p90, 6)});
    }
  }
  table.Save(path);
}

// One value per seed of `statistic` in `layer` at the measurement after `epoch` epochs,
// from the runs that have it (a diverged run stops measuring).
std::vector<double> OverSeeds(const std::vector<RunRecord>& runs, int epoch,
                              const std::string& layer, const std::string& statistic) {
  std::vector<double> values;
  for (const RunRecord& r : runs) {
    for (const StepStats& m : r.measurements) {
      if (m.context.epoch != epoch) continue;
      for (const LayerStats& l : m.layers) {
        if (l.name != layer) continue;
        if (const std::optional<double> value = Statistic(l, statistic)) values.push_back(*value);
      }
    }
  }
  return values;
}

// The epochs after which `runs` were measured (0: at initialization), in order.
std::vector<int> MeasuredEpochs(const std::vector<RunRecord>& runs) {
  std::vector<int> epochs;
  for (const RunRecord& r : runs) {
    for (const StepStats& m : r.measurements) epochs.push_back(m.context.epoch);
  }
  std::sort(epochs.begin(), epochs.end());
  epochs.erase(std::unique(epochs.begin(), epochs.end()), epochs.end());
  return epochs;
}

// The median of values that may be infinite (a target not reached): the middle one, or the
// mean of the two middle ones (infinite when either is), so that runs that never reached a
// target are counted rather than dropped.
double OrderMedian(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

const std::vector<std::string> kComparisonHeader = {
    "a",   "b",        "epoch",    "layer",        "statistic",   "n_a",
    "n_b", "median_a", "median_b", "median_ratio", "p_a_greater", "verdict"};

// The init study's reading of P(a > b): three draws in four ordering the same way is a
// clear difference.
std::string Verdict(double p_a_greater) {
  if (p_a_greater >= 0.75) return "a > b";
  if (p_a_greater <= 0.25) return "a < b";
  return "alike";
}

// comparisons.csv's rows (kComparisonHeader): per compared pair, measurement and layer.
std::vector<std::vector<std::string>> ComparisonRows(
    const Spec& spec, const std::vector<std::vector<RunRecord>>& runs) {
  std::vector<std::vector<std::string>> rows;
  const auto index = [&spec](const std::string& name) {
    return static_cast<size_t>(std::find_if(spec.configs.begin(), spec.configs.end(),
                                            [&name](const Config& c) { return c.name == name; }) -
                               spec.configs.begin());
  };
  const std::string& statistic = spec.compare.statistic;
  const auto add = [&](const std::string& a, const std::string& b, const std::string& epoch,
                       const std::string& layer, const std::vector<double>& va,
                       const std::vector<double>& vb, double ma, double mb) {
    const double p = study::ProbabilityGreater(va, vb);
    rows.push_back({a, b, epoch, layer, statistic, std::to_string(va.size()),
                    std::to_string(vb.size()), FormatNumber(ma, 6), FormatNumber(mb, 6),
                    FormatNumber(ma / mb, 6), FormatNumber(p, 3), Verdict(p)});
  };
  for (const auto& [a, b] : spec.compare.pairs) {
    const size_t ia = index(a), ib = index(b);
    if (IsOutcome(statistic)) {
      std::vector<double> va, vb;
      for (const RunRecord& r : runs[ia]) va.push_back(Outcome(spec, r, statistic));
      for (const RunRecord& r : runs[ib]) vb.push_back(Outcome(spec, r, statistic));
      add(a, b, "end", "", va, vb, OrderMedian(va), OrderMedian(vb));
      continue;
    }
    for (int epoch : MeasuredEpochs(runs[ia])) {
      for (const std::string& layer : LayerNames(spec.configs[ia])) {
        const std::vector<double> va = OverSeeds(runs[ia], epoch, layer, statistic);
        const std::vector<double> vb = OverSeeds(runs[ib], epoch, layer, statistic);
        if (va.empty() || vb.empty()) continue;
        add(a, b, std::to_string(epoch), layer, va, vb, plot::QuantilesOf(va).median,
            plot::QuantilesOf(vb).median);
      }
    }
  }
  return rows;
}

// The batch_norm and dropout columns only where a configuration has either, so that the
// files of specs without them stay as they were.
void WriteConfigsCsv(const Spec& spec, const std::string& path) {
  std::vector<std::string> header = {"config", "activation",        "initializer",   "widths",
                                     "shape",  "radius_fraction",   "learning_rate", "batch_size",
                                     "epochs", "output_initializer"};
  const bool layers = std::any_of(spec.configs.begin(), spec.configs.end(),
                                  [](const Config& c) { return c.batch_norm || c.dropout > 0; });
  if (layers) header.insert(header.end(), {"batch_norm", "dropout"});
  const bool optimizers = std::any_of(
      spec.configs.begin(), spec.configs.end(),
      [](const Config& c) { return c.optimizer != "sgd" || c.momentum > 0 || c.l2 > 0; });
  if (optimizers) header.insert(header.end(), {"optimizer", "momentum", "nesterov", "l2"});
  study::CsvTable table(header);
  for (const Config& c : spec.configs) {
    std::vector<std::string> row = {c.name,
                                    c.activation,
                                    Initializer::FromName(c.initializer).name(),
                                    WidthsText(c.widths),
                                    c.shape,
                                    FormatNumber(c.radius_fraction, 6),
                                    FormatNumber(c.learning_rate, 6),
                                    std::to_string(c.batch_size),
                                    std::to_string(c.epochs),
                                    Initializer::FromName(OutputInitializer(c)).name()};
    if (layers)
      row.insert(row.end(), {c.batch_norm ? "true" : "false", FormatNumber(c.dropout, 6)});
    if (optimizers) {
      row.insert(row.end(), {c.optimizer, FormatNumber(c.momentum, 6),
                             c.nesterov ? "true" : "false", FormatNumber(c.l2, 6)});
    }
    table.AddRow(row);
  }
  table.Save(path);
}

// ---- The report: index.html and its charts ------------------------------------------------

using Runs = std::vector<std::vector<RunRecord>>;

std::string When(int epoch) {
  return epoch == 0 ? "at initialization" : "after " + std::to_string(epoch) + " epochs";
}

// "std(dL/dW) / std(W)", "std(z)", "mean(dL/db)": a statistic as a chart names it.
std::string StatisticLabel(const std::string& statistic) {
  if (statistic == "grad_ratio") return "std(dL/dW) / std(W)";
  if (statistic == "update_ratio") return "||update of W|| / ||W||";
  const std::map<std::string, std::string> outcomes = {
      {"final_loss", "final loss"},
      {"final_accuracy", "final accuracy"},
      {"epochs_to_accuracy", "epochs to the target accuracy"},
      {"epochs_to_loss", "epochs to the target loss"}};
  if (const auto it = outcomes.find(statistic); it != outcomes.end()) return it->second;
  const auto [tensor, reading] = ParseStatistic(statistic);
  const std::map<std::string_view, std::string> symbols = {
      {"z", "z"},    {"activation", "activation"}, {"kernel", "W"},
      {"bias", "b"}, {"kernel_grad", "dL/dW"},     {"bias_grad", "dL/db"}};
  return std::string(reading->what) + "(" + symbols.at(tensor) + ")";
}

// The layer names of the deepest configuration, h1 to hD then out: the ratio chart's bars.
std::vector<std::string> AllLayerNames(const Spec& spec) {
  size_t depth = 0;
  for (const Config& c : spec.configs) depth = std::max(depth, c.widths.size());
  std::vector<std::string> names;
  for (size_t l = 0; l <= depth; ++l) names.push_back(LayerName(l, depth + 1));
  return names;
}

// The post's Figure 17 for every configuration: per layer, the median ratio over seeds with
// whiskers from the 10th to the 90th percentile.
void SaveRatioChart(const Spec& spec, const Runs& runs, int epoch, const std::string& path) {
  const std::vector<std::string> layers = AllLayerNames(spec);
  const double bars = static_cast<double>(layers.size() * spec.configs.size());
  plot::Figure figure({.title = "How big are the gradients? std(dL/dW) / std(W) " + When(epoch) +
                                ", median and 10th-90th percentile over " +
                                std::to_string(spec.seeds) + " seeds",
                       .plot_width = std::clamp(14 * bars, 480.0, 2400.0),
                       .plot_height = 340});
  plot::Axes& ax = figure.At(0, 0);
  ax.y_label = "std(gradient) / std(weights)";
  ax.x_label = "configuration";
  for (const Config& c : spec.configs) ax.categories.push_back(c.name);
  std::vector<double> all;
  for (const std::string& layer : layers) {
    plot::Bars series{.label = layer};
    for (const std::vector<RunRecord>& config_runs : runs) {
      const plot::Quantiles q =
          plot::QuantilesOf(OverSeeds(config_runs, epoch, layer, "grad_ratio"));
      series.values.push_back(q.median);
      series.lower.push_back(q.p10);
      series.upper.push_back(q.p90);
    }
    all.insert(all.end(), series.lower.begin(), series.lower.end());
    all.insert(all.end(), series.upper.begin(), series.upper.end());
    ax.Add(series);
  }
  ax.y_scale = plot::ScaleFor(all);
  figure.Save(path);
}

// At most six of the measured epochs, evenly spread from the first to the last: the panels
// of a statistic's chart.
std::vector<int> ShownEpochs(const std::vector<int>& epochs) {
  constexpr size_t kMaxPanels = 6;
  if (epochs.size() <= kMaxPanels) return epochs;
  std::vector<int> shown;
  for (size_t i = 0; i < kMaxPanels; ++i) {
    shown.push_back(epochs[(i * (epochs.size() - 1) + (kMaxPanels - 1) / 2) / (kMaxPanels - 1)]);
  }
  return shown;
}

// A statistic against the layer index, one line per configuration (the median over seeds)
// with its 10th-90th percentile band, one panel per shown measurement: vanishing or
// exploding shows as lines falling or rising with depth.
void SaveStatisticChart(const Spec& spec, const Runs& runs, const std::string& statistic,
                        const std::vector<int>& epochs, const std::string& path) {
  const int cols = std::min<int>(2, static_cast<int>(epochs.size()));
  const int rows = (static_cast<int>(epochs.size()) + cols - 1) / cols;
  const auto layers = static_cast<double>(AllLayerNames(spec).size());
  plot::Figure figure({.rows = rows,
                       .cols = cols,
                       .title = StatisticLabel(statistic) +
                                " per layer: median and 10th-90th percentile over seeds",
                       .plot_width = std::max(380.0, 12 * layers),
                       .plot_height = 240});
  std::vector<double> all;
  for (size_t p = 0; p < epochs.size(); ++p) {
    plot::Axes& ax = figure.At(static_cast<int>(p) / cols, static_cast<int>(p) % cols);
    ax.title = When(epochs[p]);
    ax.x_label = "layer (1: h1; each line's last point: out)";
    ax.y_label = StatisticLabel(statistic);
    // One legend for the figure: every panel colors the configurations alike.
    if (p > 0) ax.legend = plot::LegendPosition::kNone;
    for (size_t c = 0; c < spec.configs.size(); ++c) {
      const plot::Color color = plot::PaletteColor(c);
      plot::Band band{.color = color, .opacity = 0.15};
      plot::Line line{.label = spec.configs[c].name, .color = color, .markers = layers <= 12};
      const std::vector<std::string> names = LayerNames(spec.configs[c]);
      for (size_t l = 0; l < names.size(); ++l) {
        const std::vector<double> values = OverSeeds(runs[c], epochs[p], names[l], statistic);
        if (!values.empty()) {
          plot::AppendPercentiles(static_cast<double>(l + 1), plot::QuantilesOf(values), band,
                                  line);
        }
      }
      all.insert(all.end(), band.lower.begin(), band.lower.end());
      all.insert(all.end(), band.upper.begin(), band.upper.end());
      ax.Add(band).Add(line);
    }
  }
  const plot::Scale scale = plot::ScaleFor(all);
  for (size_t p = 0; p < epochs.size(); ++p) {
    figure.At(static_cast<int>(p) / cols, static_cast<int>(p) % cols).y_scale = scale;
  }
  figure.Save(path);
}

// Loss and accuracy after each epoch (Fit's means over the epoch's batches), per
// configuration the median over seeds with its 10th-90th percentile band; a diverged run
// counts until it stopped.
void SaveTrainingCurves(const Spec& spec, const Runs& runs, const std::string& path) {
  const std::string& metric = spec.model.metric;
  plot::Figure figure({.cols = 2,
                       .title = "Training: loss and " + metric +
                                " after each epoch, median and 10th-90th percentile over seeds",
                       .plot_width = 380,
                       .plot_height = 240});
  for (int panel = 0; panel < 2; ++panel) {
    plot::Axes& ax = figure.At(0, panel);
    ax.title = panel == 0 ? "Loss" : metric == "accuracy" ? "Accuracy" : metric;
    ax.x_label = "epoch";
    ax.y_label = panel == 0 ? (spec.model.loss == "binary_crossentropy" ? "binary cross-entropy"
                                                                        : spec.model.loss)
                            : metric;
    if (panel > 0) ax.legend = plot::LegendPosition::kNone;
    std::vector<double> all;
    for (size_t c = 0; c < spec.configs.size(); ++c) {
      const plot::Color color = plot::PaletteColor(c);
      plot::Band band{.color = color, .opacity = 0.2};
      plot::Line median{.label = spec.configs[c].name, .color = color};
      for (int e = 1; e <= spec.configs[c].epochs; ++e) {
        std::vector<double> values;
        for (const RunRecord& r : runs[c]) {
          if (std::ssize(r.epochs) < e) continue;
          const EpochLogs& logs = r.epochs[static_cast<size_t>(e - 1)];
          values.push_back(panel == 0 ? logs.loss : logs.metric);
        }
        if (!values.empty()) plot::AppendPercentiles(e, plot::QuantilesOf(values), band, median);
      }
      all.insert(all.end(), band.lower.begin(), band.lower.end());
      all.insert(all.end(), band.upper.begin(), band.upper.end());
      ax.Add(band).Add(median);
    }
    if (panel == 0) ax.y_scale = plot::ScaleFor(all);
  }
  figure.Save(path);
}

// measure.every_steps: `statistic` against the training step, a panel per configuration and
// a line per layer (the median over seeds, with its 10th-90th percentile band).
void SaveStepChart(const Spec& spec, const Runs& runs, const std::string& statistic,
                   const std::string& path) {
  plot::Figure figure({.cols = std::min<int>(2, static_cast<int>(spec.configs.size())),
                       .title = StatisticLabel(statistic) +
                                " on the training steps: median and 10th-90th percentile over "
                                "seeds",
                       .plot_width = 380,
                       .plot_height = 240});
  for (size_t c = 0; c < spec.configs.size(); ++c) {
    plot::Axes& ax = figure.At(static_cast<int>(c / 2), static_cast<int>(c % 2));
    ax.title = spec.configs[c].name;
    ax.x_label = "step";
    ax.y_label = statistic;
    std::vector<double> all;
    const std::vector<std::string> names = LayerNames(spec.configs[c]);
    for (size_t l = 0; l < names.size(); ++l) {
      const plot::Color color = plot::PaletteColor(l);
      plot::Band band{.color = color, .opacity = 0.15};
      plot::Line median{.label = names[l], .color = color};
      const size_t measured = runs[c].empty() ? 0 : runs[c][0].step_measurements.size();
      for (size_t m = 0; m < measured; ++m) {
        std::vector<double> values;
        int64_t step = 0;
        for (const RunRecord& r : runs[c]) {
          if (r.step_measurements.size() <= m) continue;
          step = r.step_measurements[m].context.step;
          const std::optional<double> v = Statistic(r.step_measurements[m].layers[l], statistic);
          if (v) values.push_back(*v);
        }
        if (!values.empty()) {
          plot::AppendPercentiles(static_cast<double>(step), plot::QuantilesOf(values), band,
                                  median);
        }
      }
      all.insert(all.end(), band.lower.begin(), band.lower.end());
      all.insert(all.end(), band.upper.begin(), band.upper.end());
      ax.Add(band).Add(median);
    }
    ax.y_scale = plot::ScaleFor(all);
  }
  figure.Save(path);
}

// Where and when the statistics were measured: the report must say, since ratios on a
// 16-sample mini-batch and on all 1,000 points differ by several times in h1.
std::string MeasuredOnText(const Spec& spec) {
  std::string when;
  if (spec.measure.init) when = "at initialization";
  if (spec.measure.every_epochs > 0) {
    when += std::string(when.empty() ? "" : " and ") + "after every " +
            std::to_string(spec.measure.every_epochs) + " epochs";
  }
  if (when.empty()) return "No statistics measured: the spec asks for training outcomes only.";
  const std::string pass = ": one forward and backward pass without an update, " + when + ".";
  if (spec.measure.full) {
    return "Statistics measured on the full data set, all " + std::to_string(spec.data.points) +
           " points" + pass;
  }
  std::vector<int64_t> points;
  for (const Config& c : spec.configs) points.push_back(MeasuredPoints(spec, c));
  const bool alike =
      std::adjacent_find(points.begin(), points.end(), std::not_equal_to<>()) == points.end();
  return "Statistics measured on a mini-batch, not the full data set: the first " +
         (alike ? std::to_string(points[0]) : std::string("batch_size")) + " of the " +
         std::to_string(spec.data.points) + " points" + pass +
         " Ratios on a mini-batch can differ from the full data set's by several times, in "
         "the first layer most.";
}

// The training outcomes per configuration: the median over seeds with the 10th-90th
// percentiles, and for each target how many runs reached it.
void WriteOutcomes(plot::Report& report, const Spec& spec, const Runs& runs) {
  report.Heading("Training outcomes");
  std::string text =
      "After every epoch the end-of-epoch weights are evaluated on all points. Final: after "
      "the last epoch (a diverged run counts as an infinite loss" +
      std::string(spec.model.metric == "accuracy" ? " and accuracy 0" : "") + ").";
  if (spec.measure.target_accuracy) {
    text += " Epochs to accuracy " + FormatNumber(*spec.measure.target_accuracy) +
            ": the first epoch whose evaluation reaches it.";
  }
  if (spec.measure.target_loss) {
    text += " Epochs to loss " + FormatNumber(*spec.measure.target_loss) +
            ": the first epoch whose evaluated loss is at most that.";
  }
  report.Paragraph(text +
                   " Medians over seeds, [10th, 90th] percentiles; a run that never "
                   "reaches a target counts as infinitely many epochs.");
  const std::vector<std::string> outcomes = Outcomes(spec);
  std::vector<std::string> header = {"configuration", "seeds"};
  for (const std::string& outcome : outcomes) header.push_back(outcome);
  std::vector<std::vector<std::string>> table = {header};
  for (size_t c = 0; c < spec.configs.size(); ++c) {
    std::vector<std::string> row = {spec.configs[c].name, std::to_string(runs[c].size())};
    for (const std::string& outcome : outcomes) {
      std::vector<double> values;
      for (const RunRecord& r : runs[c]) values.push_back(Outcome(spec, r, outcome));
      const auto finite =
          std::count_if(values.begin(), values.end(), [](double v) { return std::isfinite(v); });
      std::sort(values.begin(), values.end());
      const auto at = [&values](double level) {
        return FormatNumber(
            values[static_cast<size_t>(level * static_cast<double>(values.size() - 1))], 4);
      };
      std::string cell =
          FormatNumber(OrderMedian(values), 4) + " [" + at(0.1) + ", " + at(0.9) + "]";
      if (outcome.rfind("epochs_to_", 0) == 0) {
        cell += ", reached by " + std::to_string(finite) + "/" + std::to_string(values.size());
      }
      row.push_back(cell);
    }
    table.push_back(row);
  }
  report.Table(table);
}

// Each configuration's four panels (init_study's figure) at its first measurement.
void WritePanels(plot::Report& report, const Spec& spec, const Runs& runs, const std::string& out) {
  report.Heading("Each configuration: the post's four panels");
  if (spec.measure.histogram_bins == 0) {
    report.Paragraph("Not drawn: measure.histogram_bins is 0, so no histograms were kept.");
  } else {
    report.Paragraph(
        "Violins: the distribution of one seed (the one whose ratios are closest to the "
        "medians) at the configuration's first measurement. Dashed line and band: the "
        "tensor's std over all seeds (median, 10th-90th percentile). Z-values and "
        "activations exclude the output layer, as in the post.");
    for (size_t c = 0; c < spec.configs.size(); ++c) {
      const Config& config = spec.configs[c];
      report.Heading(config.name, 3);
      const std::vector<int> measured = MeasuredEpochs(runs[c]);
      if (measured.empty()) {
        report.Paragraph("No measurement: every run diverged before its first.");
        continue;
      }
      std::vector<study::SeedStats> seeds;
      for (size_t s = 0; s < runs[c].size(); ++s) {
        for (const StepStats& m : runs[c][s].measurements) {
          if (m.context.epoch == measured.front()) {
            seeds.push_back({.seed = static_cast<int>(s), .stats = &m});
          }
        }
      }
      const size_t representative = study::RepresentativeSeed(seeds);
      const std::string file = "panels_" + std::to_string(c) + ".svg";
      study::FourPanelFigure(seeds, representative,
                             config.name + ": " + When(measured.front()) + ", seed " +
                                 std::to_string(seeds[representative].seed) +
                                 " (the most typical of " + std::to_string(seeds.size()) + ")")
          .Save(out + file);
      report.Image(file, config.name + ": " + ConfigText(config));
    }
  }
}

// index.html, with the SVGs it shows, into `out`: the configurations, the ratio chart
// across them, each statistic against the layer, the training curves, the comparison
// tables, each configuration's four panels, and the spec.
void WriteReport(const Spec& spec, const Runs& runs,
                 const std::vector<std::vector<std::string>>& comparisons, int64_t diverged,
                 const std::string& out) {
  plot::Report report(spec.name + ": " + std::to_string(spec.configs.size()) +
                      " configurations x " + std::to_string(spec.seeds) + " seeds");
  report.Paragraph(MeasuredOnText(spec));
  if (diverged > 0) {
    report.Paragraph(std::to_string(diverged) + " of " +
                     std::to_string(spec.configs.size() * static_cast<size_t>(spec.seeds)) +
                     " runs diverged (their training loss became NaN or infinite); they count "
                     "in the measurements and epochs they completed.");
  }
  report.Link("results.csv", "results.csv (every value, tidy)").Link("configs.csv", "configs.csv");
  const auto& statistics = spec.measure.statistics;
  const bool grad_ratio_listed =
      std::find(statistics.begin(), statistics.end(), "grad_ratio") != statistics.end();
  if (spec.measure.init && grad_ratio_listed) report.Link("ratios.csv", "ratios.csv");
  if (!spec.compare.pairs.empty()) report.Link("comparisons.csv", "comparisons.csv");
  report.Link("runs.h5", "runs.h5 (every run, HDF5)");

  report.Heading("Configurations");
  std::vector<std::vector<std::string>> table = {{"configuration", "parameters"}};
  for (const Config& c : spec.configs) table.push_back({c.name, ConfigText(c)});
  report.Table(table);

  std::vector<int> epochs;
  for (const std::vector<RunRecord>& config_runs : runs) {
    const std::vector<int> measured = MeasuredEpochs(config_runs);
    epochs.insert(epochs.end(), measured.begin(), measured.end());
  }
  std::sort(epochs.begin(), epochs.end());
  epochs.erase(std::unique(epochs.begin(), epochs.end()), epochs.end());
  if (epochs.empty()) {
    report.Paragraph(spec.measure.init || spec.measure.every_epochs > 0
                         ? "No run made a measurement (every run diverged before its first), "
                           "so there is no statistic to chart."
                         : "No statistic was measured (measure.init is false and "
                           "measure.every_epochs 0): the spec asks for outcomes only.");
  } else {
    report.Heading("How big are the gradients? The ratio across configurations");
    SaveRatioChart(spec, runs, epochs.front(), out + "ratios.svg");
    report.Image("ratios.svg",
                 "Per configuration and layer, std(dL/dW) / std(W) " + When(epochs.front()) +
                     ": median over seeds, whiskers from the 10th to the 90th percentile.");
    report.Heading("Each statistic against the layer");
    report.Paragraph(
        "One line per configuration: the median over seeds, with its 10th-90th percentile "
        "band. Lines falling with depth show vanishing values, rising ones exploding values; "
        "the y axis is logarithmic where the values span two decades or more, and a value "
        "of exactly 0 (below float's range) is then not drawn: results.csv has it.");
    const std::vector<int> shown = ShownEpochs(epochs);
    if (shown.size() < epochs.size()) {
      report.Paragraph(std::to_string(shown.size()) + " of the " + std::to_string(epochs.size()) +
                       " measurements are shown; results.csv has them all.");
    }
    std::vector<std::string> charted = statistics;
    std::erase(charted, "update_ratio");  // training steps only: charted against the step
    if (!grad_ratio_listed) charted.insert(charted.begin(), "grad_ratio");
    for (const std::string& statistic : charted) {
      report.Heading(StatisticLabel(statistic) + " (" + statistic + ")", 3);
      SaveStatisticChart(spec, runs, statistic, shown, out + "stat_" + statistic + ".svg");
      report.Image("stat_" + statistic + ".svg", StatisticLabel(statistic) + " per layer");
    }
  }

  if (std::any_of(spec.configs.begin(), spec.configs.end(),
                  [](const Config& c) { return c.epochs > 0; })) {
    report.Heading("Training curves");
    SaveTrainingCurves(spec, runs, out + "training.svg");
    report.Image("training.svg", "Loss and " + spec.model.metric +
                                     " on the training batches, the means over each epoch.");
  }
  if (spec.measure.every_steps > 0 && std::any_of(spec.configs.begin(), spec.configs.end(),
                                                  [](const Config& c) { return c.epochs > 0; })) {
    report.Heading("During training: every " + std::to_string(spec.measure.every_steps) +
                   "th step");
    report.Paragraph(
        "Measured by the training step itself on its mini-batch (fused statistics), before "
        "its update, which update_ratio (||update of W|| / ||W||) describes. results.csv "
        "has these rows with statistic names ending in @train_step.");
    for (const std::string& statistic : statistics) {
      const std::string file = "steps_" + statistic + ".svg";
      SaveStepChart(spec, runs, statistic, out + file);
      report.Image(file, StatisticLabel(statistic) + " against the step");
    }
  }
  if (!Outcomes(spec).empty()) WriteOutcomes(report, spec, runs);

  if (!spec.compare.pairs.empty()) {
    report.Heading("Comparisons");
    report.Paragraph(
        "Per measurement and layer (for a training outcome, once per run: epoch \"end\"): "
        "the medians over seeds, their ratio a / b, and P(a > b) over all pairs of seeds, "
        "ties counting half (0.5: alike; >= 0.75 or <= 0.25: three draws in four order the "
        "same way). For losses and epochs to a target, lower is better.");
    for (const auto& [a, b] : spec.compare.pairs) {
      report.Heading(a + " against " + b + ": " + StatisticLabel(spec.compare.statistic), 3);
      std::vector<std::vector<std::string>> rows = {{"epoch", "layer", "seeds a", "seeds b",
                                                     "median a", "median b", "a / b", "P(a > b)",
                                                     "verdict"}};
      for (const std::vector<std::string>& row : comparisons) {
        if (row[0] != a || row[1] != b) continue;
        rows.push_back({row[2], row[3], row[5], row[6], row[7], row[8], row[9], row[10], row[11]});
      }
      report.Table(rows);
    }
  }

  if (!epochs.empty()) WritePanels(report, spec, runs, out);

  report.Heading("The spec");
  report.Paragraph(spec.path + ", run with " + std::to_string(spec.seeds) + " seeds:");
  report.Preformatted(spec.text);
  report.Save(out + "index.html");
}

void RecordRun(Recorder& recorder, const std::shared_ptr<Backend>& backend, const Spec& spec,
               const Config& c, int seed, const RunRecord& r) {
  RunWriter run = recorder.CreateRun(
      c.name + "/seed_" + std::to_string(seed),
      {{"activation", c.activation},
       {"initializer", Initializer::FromName(c.initializer).name()},
       {"output_initializer", Initializer::FromName(OutputInitializer(c)).name()},
       {"seed", int64_t{seed}},
       {"data", DataText(spec, c, std::to_string(seed))},
       {"loss",
        spec.model.loss == "binary_crossentropy"
            ? "binary cross-entropy from logits, mean over the batch"
            : spec.model.loss +
                  (spec.model.loss == "sparse_categorical_crossentropy" ? " from logits" : "") +
                  ", mean over the batch"},
       {"measurement_batch", MeasuredPoints(spec, c)},
       {"epochs", int64_t{c.epochs}},
       {"batch_size", c.batch_size},
       {"optimizer", c.optimizer},
       {"learning_rate", c.learning_rate},
       {"momentum", c.momentum},
       {"nesterov", int64_t{c.nesterov}},
       {"l2", c.l2},
       {"diverged_at_step", r.diverged_step},
       {"device", r.device}},
      {.expected_steps = std::max<int64_t>(1, static_cast<int64_t>(r.measurements.size()))});
  // The layers' description, and a model to hold each recorded epoch's weights (RunWriter
  // reads the layers' kernels and biases, views into parameters()): building it again costs
  // microseconds.
  Sequential model = BuildModel(backend, spec, c, static_cast<uint64_t>(seed));
  Tensor parameters = model.parameters();
  run.WriteModel(model, ModelLayerNames(c));
  const auto append_weights = [&](size_t epoch) {
    if (epoch >= r.weights.size()) return;
    parameters.CopyFromHost(r.weights[epoch]);
    run.AppendWeights(static_cast<int>(epoch), model);
  };
  size_t next = 0;
  const auto append_measurements_until = [&](int epochs_trained) {
    while (next < r.measurements.size() && r.measurements[next].context.epoch <= epochs_trained) {
      run.Append(r.measurements[next++]);
    }
  };
  append_measurements_until(0);
  append_weights(0);
  for (size_t e = 0; e < r.epochs.size(); ++e) {
    run.AppendEpoch(r.epochs[e], spec.model.metric);
    append_weights(e + 1);
    append_measurements_until(r.epochs[e].epoch + 1);
  }
}

}  // namespace

std::vector<int64_t> ShapeWidths(std::string_view shape, int64_t depth, int64_t width) {
  if (depth < 1) throw SpecError("the depth must be at least 1, not " + std::to_string(depth));
  if (width < 1) throw SpecError("the width must be at least 1, not " + std::to_string(width));
  // round(width * k / depth), at least 1.
  const auto scaled = [&](int64_t k) {
    return std::max<int64_t>(1, (2 * width * k + depth) / (2 * depth));
  };
  std::vector<int64_t> widths;
  for (int64_t i = 0; i < depth; ++i) {
    if (shape == "block") {
      widths.push_back(width);
    } else if (shape == "funnel") {
      widths.push_back(scaled(depth - i));
    } else if (shape == "hourglass") {
      widths.push_back(scaled(1 + std::abs(2 * i - (depth - 1))));
    } else {
      throw SpecError("unknown shape \"" + std::string(shape) +
                      "\" (valid: block funnel hourglass)");
    }
  }
  return widths;
}

Spec ParseSpec(std::string_view text, const std::string& path) {
  const Reader reader(path);
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    reader.Fail(e.source(), "TOML syntax: " + std::string(e.description()));
  }
  reader.CheckKeys(root, "", kTopKeys);
  Spec spec;
  spec.path = path;
  spec.text = text;
  spec.name = std::filesystem::path(path).stem().string();
  if (const toml::node* n = root.get("name")) spec.name = reader.String(*n, "name");
  if (const toml::node* n = root.get("seeds")) {
    spec.seeds = static_cast<int>(reader.Integer(*n, "seeds", 1, kMaxCount));
  }
  const Params base = ReadBase(reader, root, spec.data, spec.model);
  spec.measure = ReadMeasure(reader, root);
  if (spec.model.metric != "accuracy" && spec.measure.target_accuracy) {
    reader.Fail(root.at_path("measure.target_accuracy").node()->source(),
                "measure.target_accuracy needs a classification loss; " + spec.model.loss +
                    " reports " + spec.model.metric + " (use measure.target_loss)");
  }
  const toml::node* grid = root.get("grid");
  const toml::node* configs = root.get("config");
  if (configs != nullptr) {
    spec.configs = ReadConfigs(reader, *configs, base, grid);
  } else if (grid != nullptr) {
    spec.configs = ExpandGrid(reader, *grid, base);
  } else {
    Params p = base;
    p.config.name = p.config.activation + "_" + p.config.initializer;
    spec.configs.push_back(Resolve(p));
  }
  // Where a configuration's optimizer key was set, for an error about it.
  const auto source_of = [&root](const std::string& key) {
    for (const char* table : {"grid.", "train."}) {
      if (const toml::node* n = root.at_path(table + key).node()) return n->source();
    }
    return root.source();
  };
  for (const Config& c : spec.configs) {
    if (c.nesterov && (c.optimizer != "sgd" || c.momentum == 0)) {
      reader.Fail(source_of("nesterov"), "configuration \"" + c.name +
                                             "\": nesterov needs the sgd optimizer with a "
                                             "momentum > 0");
    }
    if (c.optimizer == "adam" && c.momentum > 0) {
      reader.Fail(source_of("momentum"), "configuration \"" + c.name +
                                             "\": momentum applies to the sgd optimizer, not "
                                             "adam (which keeps its own moments)");
    }
  }
  spec.compare = ReadCompare(reader, root, spec.measure, spec.configs);
  if (spec.model.metric != "accuracy" && spec.compare.statistic.ends_with("accuracy")) {
    reader.Fail(root.at_path("compare.statistic").node()->source(),
                "compare.statistic " + spec.compare.statistic + " needs a classification loss; " +
                    spec.model.loss + " reports " + spec.model.metric);
  }
  return spec;
}

Spec LoadSpec(const std::string& path) { return ParseSpec(ReadFile(path), path); }

double RunFlops(const Spec& spec, const Config& c) {
  double weights = 0;
  int64_t in = spec.data.dims;
  for (int64_t w : c.widths) {
    weights += static_cast<double>(in) * static_cast<double>(w);
    in = w;
  }
  weights += static_cast<double>(in) * static_cast<double>(spec.model.output_units);
  const double samples = static_cast<double>(Measurements(spec, c) * MeasuredPoints(spec, c)) +
                         static_cast<double>(c.epochs) * static_cast<double>(spec.data.points);
  const double evaluated =
      spec.measure.evaluate ? static_cast<double>(c.epochs) * static_cast<double>(spec.data.points)
                            : 0.0;
  return 6 * weights * samples + 2 * weights * evaluated;
}

std::string CheckText(const Spec& spec) {
  const auto configs = static_cast<int64_t>(spec.configs.size());
  std::string text = spec.path + ": " + std::to_string(configs) + " configurations x " +
                     std::to_string(spec.seeds) +
                     " seeds = " + std::to_string(configs * spec.seeds) + " runs\n";
  if (spec.data.kind == "ball") {
    text += "data: ball, " + std::to_string(spec.data.dims) + " dimensions, " +
            std::to_string(spec.data.points) + " points (seed s draws the points of run seed s)\n";
  } else if (spec.data.kind == "blobs" || spec.data.kind == "regression") {
    text += "data: " + DataText(spec, spec.configs.front(), "s") +
            " (seed s draws the points of run seed s)\n";
  } else {
    text += "data: " + DataText(spec, spec.configs.front(), "") + "\n";
  }
  text += "model: " + spec.model.loss + ", " + std::to_string(spec.model.output_units) +
          (spec.model.output_units == 1 ? " output" : " outputs") + "\n";
  text += "measure:";
  if (spec.measure.init) text += " at initialization";
  if (spec.measure.every_epochs > 0) {
    text += std::string(spec.measure.init ? "," : "") + " after every " +
            std::to_string(spec.measure.every_epochs) + " epochs";
  }
  text += std::string(", on ") +
          (spec.measure.full ? "all points" : "the first batch_size points") + ":";
  if (spec.measure.every_steps > 0) {
    text = text.substr(0, text.size() - 1) + "; training steps 0, " +
           std::to_string(spec.measure.every_steps) + ", ... on their mini-batches (fused):";
  }
  for (const std::string& s : spec.measure.statistics) text += " " + s;
  if (spec.measure.evaluate) {
    text += "\noutcomes: the end-of-epoch weights evaluated on all points after every epoch:";
    for (const std::string& o : Outcomes(spec)) text += " " + o;
  }
  text += "\nconfigurations:\n";
  double flops = 0;
  int64_t passes = 0;
  for (const Config& c : spec.configs) {
    text += "  " + c.name + ": " + ConfigText(c) + "\n";
    flops += RunFlops(spec, c) * spec.seeds;
    passes += (Measurements(spec, c) +
               c.epochs * ((spec.data.points + c.batch_size - 1) / c.batch_size)) *
              spec.seeds;
  }
  for (const auto& [a, b] : spec.compare.pairs) {
    text += "compare: " + a + " with " + b + " (" + spec.compare.statistic + ")\n";
  }
  text += "work: " + std::to_string(passes) + " forward and backward passes, about " +
          FormatNumber(flops / 1e9, 3) + " GFLOP (6 per weight and sample)\n";
  return text;
}

Sequential BuildModel(const std::shared_ptr<Backend>& backend, const Spec& spec, const Config& c,
                      uint64_t seed) {
  Sequential model(backend);
  for (int64_t width : c.widths) {
    model.Add(Dense(width, c.activation, c.initializer));
    if (c.batch_norm) model.Add(BatchNormalization());
    if (c.dropout > 0) model.Add(Dropout(static_cast<float>(c.dropout)));
  }
  model.Add(Dense(spec.model.output_units, "linear", OutputInitializer(c)));
  const auto rate = static_cast<float>(c.learning_rate);
  const L2Penalty penalty{.l2 = static_cast<float>(c.l2)};
  model.Compile(MakeLoss(fanin::Config(spec.model.loss)),
                c.optimizer == "adam" ? Optimizer{Adam{.learning_rate = rate, .penalty = penalty}}
                                      : Optimizer{Sgd{.learning_rate = rate,
                                                      .momentum = static_cast<float>(c.momentum),
                                                      .nesterov = c.nesterov,
                                                      .penalty = penalty}});
  model.Build(spec.data.dims, seed);
  return model;
}

std::vector<std::vector<RunRecord>> RunAll(const distributed::World& world, const Spec& spec,
                                           const std::shared_ptr<Backend>& backend, RunStore* store,
                                           const std::string& label,
                                           const std::function<void(int64_t)>& before_run) {
  const auto num_configs = static_cast<int64_t>(spec.configs.size());
  const std::vector<std::string> encoded = study::RunOverRanks(
      world, spec.seeds * num_configs, label,
      [&](int64_t i) {
        if (before_run) before_run(i);
        return Encode(RunOne(backend, spec, spec.configs[static_cast<size_t>(i % num_configs)],
                             static_cast<int>(i / num_configs)));
      },
      store);
  if (!world.is_root()) return {};
  std::vector<std::vector<RunRecord>> runs(spec.configs.size(),
                                           std::vector<RunRecord>(static_cast<size_t>(spec.seeds)));
  for (int64_t i = 0; i < std::ssize(encoded); ++i) {
    runs[static_cast<size_t>(i % num_configs)][static_cast<size_t>(i / num_configs)] =
        Decode(encoded[static_cast<size_t>(i)]);
  }
  return runs;
}

RunSummary RunExperiment(const distributed::World& world, const Spec& spec,
                         const RunOptions& options) {
  const int seeds = spec.seeds;
  // The backend first: a bad device fails before anything in the output is touched.
  const std::shared_ptr<Backend> backend = MakeBackend(options.device);
  std::optional<RunStore> store;
  if (world.is_root()) {
    store.emplace(
        options.out,
        study::ResultKey(Fingerprint(spec), {.seeds = seeds, .device = options.device}, *backend));
  }
  const auto num_configs = static_cast<int64_t>(spec.configs.size());
  std::vector<std::vector<RunRecord>> runs =
      RunAll(world, spec, backend, store ? &*store : nullptr, "fanin_experiment " + spec.name,
             options.before_run);
  if (!world.is_root()) return {};

  RunSummary summary{.runs = seeds * num_configs,
                     .reused = static_cast<int64_t>(store->completed().size())};
  const std::string out = store->dir() + "/";
  {
    // In run order (seed by seed), as a process that records as it goes would.
    Recorder recorder(out + "runs.h5", FileMode::kTruncate);
    for (int64_t i = 0; i < seeds * num_configs; ++i) {
      const auto c = static_cast<size_t>(i % num_configs);
      const auto seed = static_cast<int>(i / num_configs);
      const RunRecord& r = runs[c][static_cast<size_t>(seed)];
      RecordRun(recorder, backend, spec, spec.configs[c], seed, r);
      if (r.diverged_step >= 0) ++summary.diverged;
    }
  }  // closed before the swap
  for (size_t c = 0; c < spec.configs.size(); ++c) {
    for (RunRecord& r : runs[c]) {
      for (StepStats& step : r.measurements) KeepMeasuredLayers(step, spec.configs[c]);
      for (StepStats& step : r.step_measurements) KeepMeasuredLayers(step, spec.configs[c]);
    }
  }
  study::CsvTable results({"config", "seed", "epoch", "step", "layer", "statistic", "value"});
  for (size_t c = 0; c < spec.configs.size(); ++c) {
    for (int seed = 0; seed < seeds; ++seed) {
      AddRunRows(results, spec, spec.configs[c], seed, runs[c][static_cast<size_t>(seed)]);
    }
  }
  results.Save(out + "results.csv");
  WriteConfigsCsv(spec, out + "configs.csv");
  const auto& statistics = spec.measure.statistics;
  if (spec.measure.init &&
      std::find(statistics.begin(), statistics.end(), "grad_ratio") != statistics.end()) {
    WriteRatiosCsv(spec, runs, out + "ratios.csv");
  }
  const std::vector<std::vector<std::string>> comparisons = ComparisonRows(spec, runs);
  if (!spec.compare.pairs.empty()) {
    study::CsvTable table(kComparisonHeader);
    for (const std::vector<std::string>& row : comparisons) table.AddRow(row);
    table.Save(out + "comparisons.csv");
  }
  WriteReport(spec, runs, comparisons, summary.diverged, out);
  store->Commit();
  return summary;
}

}  // namespace fanin::experiment
