// Helpers shared by the study programs (init_study.cpp and activation_study.cpp, in this
// folder): their command line, CSV tables, text files, progress display, and the split of
// their runs over MPI ranks. Percentiles over seeds come from fanin::plot::QuantilesOf
// (numpy's linear interpolation); the post's four panels of a configuration are drawn by
// FourPanelFigure. They live here, not in the fanin library, because no
// other program needs them.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "fanin/distributed.h"
#include "fanin/model.h"
#include "fanin/plot.h"
#include "fanin/run_store.h"
#include "fanin/stats_hook.h"

namespace fanin::study {

// --seeds N, --out DIR, --device cpu|cuda|auto, --epochs E.
struct Options {
  int seeds = 30;
  std::string out;
  std::string device = "auto";
  int epochs = 0;
  bool help = false;  // --help or -h was given
};

// `defaults` holds each option's value when it is not given. Parsed with CLI11; throws
// std::invalid_argument naming the flag for an unknown flag, a missing, malformed or
// out-of-range value (seeds 1 to 10^6, epochs `min_epochs` to 10^6, device cpu, cuda or
// auto, a non-empty out), or a repeated one.
Options ParseOptions(int argc, const char* const* argv, const Options& defaults,
                     int min_epochs = 0);
// The --help text: every flag with its default and its accepted values.
std::string Usage(const char* program, const Options& defaults, int min_epochs = 0);

// The main() of a study program: starts MPI when a launcher started the process, parses
// the options (with --epochs at least `min_epochs`), prints usage or an option error once,
// from rank 0, returning 0 or 2 on every rank; else returns study(world, options). An
// exception escaping `study` aborts every rank, since the others may be waiting for it.
using StudyBody = std::function<int(const distributed::World& world, const Options& options)>;
int StudyMain(int argc, char** argv, const char* program, const Options& defaults, int min_epochs,
              const StudyBody& study);

// What a study's results depend on, the key of its RunStore: the program, every option but
// --out, the backend that computes (device and threads) and the fanin version. A resumed
// study reuses only the runs recorded under the same key.
std::string ResultKey(const std::string& program, const Options& options, const Backend& backend);
// The version of Encoder's format, part of ResultKey: 2 added the fused statistics' counts
// and log2 histogram, 3 the kernel's update and the update-to-weight ratio, 4 init_study's
// runs recorded by the experiment runner, 5 a layer's statistics by tensor name and the
// runner's initial evaluation and weights.
inline constexpr int kEncodingVersion = 5;

// "0.0123", "1.5e-07": `digits` significant digits (printf's %g); "nan", "inf" as such.
std::string FormatNumber(double value, int digits = 3);

// P(a > b) for a drawn from `a` and b from `b`, ties counting half: 0.5 when the two
// distributions are alike, near 1 (or 0) when one is clearly bigger. Unpaired, the
// conservative choice: one seed's draws under two initializers are related for some
// pairs (the same Philox normals, scaled) and unrelated for others (normal vs uniform).
double ProbabilityGreater(const std::vector<double>& a, const std::vector<double>& b);

// One seed's measurement of a configuration (all seeds measured alike: the same layers).
struct SeedStats {
  int seed = 0;
  const StepStats* stats = nullptr;
};

// The index in `seeds` of the seed whose per-layer grad_ratio sits closest to the medians
// over seeds (in log space): the one a figure of single-seed distributions shows.
size_t RepresentativeSeed(const std::vector<SeedStats>& seeds);

// The post's four panels (Z-values and weights on top, activations and gradients below):
// per layer, the distribution of seeds[representative] as a violin (from the histograms
// ComputeStepStats keeps, so it needs histogram bins) and the tensor's std over all seeds
// (median line, 10th-90th percentile band). Z-values and activations exclude the output
// layer, as in the post. At least two layers.
plot::Figure FourPanelFigure(const std::vector<SeedStats>& seeds, size_t representative,
                             const std::string& title);

// A CSV table (RFC 4180: fields holding a comma, quote or newline are quoted), written
// whole and atomically by Save so that a reader never sees half a table.
class CsvTable {
 public:
  explicit CsvTable(std::vector<std::string> header);
  // Throws std::invalid_argument when the row's width differs from the header's.
  void AddRow(std::vector<std::string> row);
  std::string ToString() const;
  void Save(const std::string& path) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// Writes `text` to `path` atomically; throws std::runtime_error naming the path.
void WriteTextFile(const std::string& path, const std::string& text);

// A "label: done/total, elapsed, about R s left" counter on stderr: on a terminal one line
// redrawn at most ten times a second; in a log file or a pipe a line at every tenth of the
// runs and at least every 30 s, so that a long run in the background shows its pace too.
class Progress {
 public:
  Progress(std::string label, int64_t total);
  ~Progress();  // ends the line
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void Advance(int64_t count = 1);

 private:
  void Draw();

  std::string label_;
  int64_t total_, done_ = 0;
  bool terminal_;
  int64_t logged_ = -1;  // off a terminal: the count of the last line written
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// ---- Distributed studies -----------------------------------------------------------------
//
// A study is many independent runs, each a deterministic function of its (configuration,
// seed). Under `mpirun -np N` the ranks share them out and root gathers every run's results
// and writes the report from them, so the files equal a single-process run's.

// An exact binary encoding of a run's results, to move them between ranks: numbers are
// stored as their bytes (the ranks of one job share the byte order and float format), so a
// value decoded on root has every bit of the one computed on another rank.
class Encoder {
 public:
  template <typename T>
  requires std::is_arithmetic_v<T>
  void Put(T value) { bytes_.append(reinterpret_cast<const char*>(&value), sizeof(T)); }
  template <typename T>
  void Put(const std::vector<T>& values) {
    Put(static_cast<uint64_t>(values.size()));
    if constexpr (std::is_arithmetic_v<T>) {
      bytes_.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
    } else {
      for (const T& value : values) Put(value);
    }
  }
  void Put(const std::string& text);
  void Put(const TensorStats& stats);
  void Put(const StepStats& step);
  void Put(const EpochLogs& logs);

  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

// Reads what an Encoder wrote, in the same order. Throws std::runtime_error when the bytes
// run out.
class Decoder {
 public:
  explicit Decoder(std::string_view bytes) : bytes_(bytes) {}

  template <typename T>
  requires std::is_arithmetic_v<T>
  void Get(T& value) { std::memcpy(&value, Take(sizeof(T)), sizeof(T)); }
  template <typename T>
  void Get(std::vector<T>& values) {
    values.resize(Next<uint64_t>());
    if constexpr (std::is_arithmetic_v<T>) {
      if (!values.empty())
        std::memcpy(values.data(), Take(values.size() * sizeof(T)), values.size() * sizeof(T));
    } else {
      for (T& value : values) Get(value);
    }
  }
  void Get(std::string& text);
  void Get(TensorStats& stats);
  void Get(StepStats& step);
  void Get(EpochLogs& logs);

  template <typename T>
  T Next() {
    T value{};
    Get(value);
    return value;
  }
  bool AtEnd() const { return bytes_.empty(); }

 private:
  const char* Take(size_t count);

  std::string_view bytes_;
};

// Runs runs 0, ..., count - 1 of a study over the ranks of `world`: rank r calls `run(i)`
// for every i with i % N == r (round-robin, so that neighbouring runs, which often cost
// alike, go to different ranks), and `run` returns its results encoded. A collective:
// returns on root every run's encoding in index order, on the other ranks nothing. Root
// shows the progress of its own runs as `label`.
//
// `store`, given on root (nullptr on the other ranks), makes the study resumable: the runs
// it holds from an interrupted attempt are not run again (root tells every rank which), and
// each run is recorded there as root gets it: root's own as they finish, the other ranks'
// when they are gathered at the end. The remaining runs are dealt round-robin.
//
// A run must compute on every rank what it would in a process alone: the same backend
// options included. With another thread count OpenBLAS's sgemm rounds differently, so N
// ranks on one machine each use all its cores, as one process would, and share them.
std::vector<std::string> RunOverRanks(const distributed::World& world, int64_t count,
                                      const std::string& label,
                                      const std::function<std::string(int64_t)>& run,
                                      RunStore* store = nullptr);

}  // namespace fanin::study
