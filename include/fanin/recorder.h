// Recording runs to HDF5, one group per run, in the spirit of DeepReplay's file/group design.
//
//   fanin::Recorder recorder("runs.h5");                       // opened, or created
//   fanin::RunWriter run = recorder.CreateRun("tanh_glorot_normal/seed_0",
//                                             {{"activation", "tanh"}, {"seed", int64_t{0}}});
//   run.WriteModel(model);                                     // layer sizes and names
//   auto hook = std::make_shared<fanin::StatsHook>(
//       fanin::StatsHookOptions{.layer_names = names, .sink = run.Sink()});
//   ...
//   fanin::RecordedRun back = fanin::ReadRun("runs.h5", "tanh_glorot_normal/seed_0");
//
// Every append is flushed to disk before it returns, so a process that dies mid-run
// leaves a file whose earlier steps are all readable. The layout is in docs/hdf5-layout.md.
// Failures throw std::runtime_error naming the file, what was being done and why (a full
// disk: "File too large", "No space left on device"); HDF5's own error stack is never
// printed. After a failed write the file takes no more writes; what was flushed before
// stays readable.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "fanin/model.h"
#include "fanin/stats_hook.h"

namespace fanin {

using AttributeValue =
    std::variant<int64_t, double, std::string, std::vector<int64_t>, std::vector<std::string>>;
// Ordered (name, value) pairs, written as attributes of a run's group.
using Attributes = std::vector<std::pair<std::string, AttributeValue>>;

enum class FileMode {
  kAppend,    // open the file if it exists (adding runs to it), else create it
  kTruncate,  // create the file, discarding any previous content
};

struct RunOptions {
  // Replace a group that already exists instead of throwing.
  bool overwrite = false;
  // About how many steps the run will record: sizes the datasets' chunks, so a one-step
  // run does not reserve space for many (HDF5 allocates whole chunks).
  int64_t expected_steps = 1;
};

class RunWriter;

class Recorder {
 public:
  explicit Recorder(const std::string& path, FileMode mode = FileMode::kAppend);
  ~Recorder();
  Recorder(Recorder&&) noexcept;
  Recorder& operator=(Recorder&&) noexcept;

  // Creates the group `group` ("a/b/c": missing parents are created) with `attributes`
  // and the attribute fanin_version. Throws std::runtime_error when the group exists,
  // unless options.overwrite.
  RunWriter CreateRun(const std::string& group, const Attributes& attributes = {},
                      const RunOptions& options = {});
  const std::string& path() const;

  struct File;  // the open HDF5 file, shared with the RunWriters (implementation detail)

 private:
  std::shared_ptr<File> file_;
};

// Appends to one run's group. Keeps the file open while it lives.
class RunWriter {
 public:
  // The model's layers as attributes: layer_names (given, or "layer0", ...), layer_sizes
  // (input width, then each layer's output width) and layers (Layer::Describe()).
  void WriteModel(const Sequential& model, const std::vector<std::string>& layer_names = {});
  // One recorded step: its context, and per layer the statistics and histograms. Throws,
  // writing nothing, when the step's layer names, tensors or histogram bins differ from
  // the run's (its layer_names, its first step).
  void Append(const StepStats& step);
  // The training logs of one epoch; `metric` names EpochLogs::metric (Loss::metric_name(),
  // as in model.loss().metric_name()). Throws, writing nothing, when the run's earlier
  // epochs name another metric.
  void AppendEpoch(const EpochLogs& logs, const std::string& metric = "accuracy");
  // The raw kernel and bias of every layer after `epoch` (0 = at initialization), for
  // small models whose training is to be replayed.
  void AppendWeights(int epoch, const Sequential& model);
  // A StatsHookOptions::sink that appends to this run.
  std::function<void(const StepStats&)> Sink();

  const std::string& group() const { return group_; }

 private:
  friend class Recorder;
  RunWriter(std::shared_ptr<Recorder::File> file, std::string group, int64_t chunk_steps);

  std::shared_ptr<Recorder::File> file_;
  std::string group_;
  int64_t chunk_steps_;
};

// A layer's parameters as recorded by RunWriter::AppendWeights (row-major values).
struct LayerWeights {
  Shape kernel_shape;
  std::vector<float> kernel, bias;
};
struct EpochWeights {
  int epoch = 0;
  std::vector<LayerWeights> layers;  // one per layer with a kernel, in order
};

// A run read back from a file.
struct RecordedRun {
  Attributes attributes;
  std::vector<StepStats> steps;
  std::vector<EpochLogs> epochs;
  std::string metric;  // what EpochLogs::metric is ("accuracy"); empty without epochs
  std::vector<EpochWeights> weights;
  // Empty, or which record a process killed mid-append left half written (its datasets
  // one row apart), e.g. "step 24 was cut off mid-append (rows: steps 25, h1/stats 24,
  // ...)". Every record before it is read; the torn one is left out.
  std::string torn;

  const AttributeValue* attribute(const std::string& name) const;
};

// Reads one run. Throws std::runtime_error naming the file when it is missing, truncated,
// not HDF5 or fails a checksum, or naming the group when it is absent or not a run.
RecordedRun ReadRun(const std::string& path, const std::string& group);
// The groups under `parent` ("" or "/" for the root), in creation order.
std::vector<std::string> ListGroups(const std::string& path, const std::string& parent = "");

}  // namespace fanin
