// fanin_compare: the W1/W2 training step side by side, in one run, on every backend fanin
// has here, next to the bare GEMM calls of the same step through fanin's backends and through
// OpenBLAS on 1 and 2 threads (the floor of a BLAS-based step)
// and, where a Python with `torch` is found, the same step in PyTorch eager (and, on a GPU,
// torch.compile reduce-overhead) built from the same arrays, at its best: 20 warm-up steps,
// at least 20 timed, the faster way of zeroing gradients and of OpenBLAS's kernels, and a
// `torch-best` row, the faster of its 1- and 2-thread rows; the peers run before fanin has started
// a thread. fanin's rows include `fanin-stats-*`, the step with fused statistics recorded at every
// step. Every row first proves it computes the same thing: its mean BCE after 0, 1 and 10 steps
// against WORKLOADS.md.
//
//   build/bin/fanin_compare                      # W1 and W2, every device, torch if found
//   build/bin/fanin_compare --workloads=W1 --torch=off --w1-steps=500
//   FANIN_TORCH_PYTHON=/usr/bin/python3 build/bin/fanin_compare
//
// Prints one line per device or peer it does not run and why ("cuda: skipped, no CUDA GPU is
// visible"), then one Markdown table: ms/step (median, min, max), samples/s, GFLOP/s
// (WORKLOADS.md's nominal 3 x forward FLOPs), the largest loss deviation, and the ratio of
// each row's median to every other row's of the same workload (< 1: faster than that peer);
// under the table, what each row ran, and the skipped lines again.
#include <cblas.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "bench/openblas_gemm.h"
#include "bench/workloads.h"
#include "fanin/command_line.h"
#include "fanin/ops.h"
#include "fanin/stats_hook.h"

namespace fanin::bench {
namespace {

constexpr double kLossTolerance = 1e-5;
// The peer's timed steps: at least 20 (and as many as fanin's where those are more), so that a
// median of PyTorch's first, slower steps does not understate it.
constexpr int kMinPeerSteps = 20;

struct Options {
  std::vector<std::string> workloads = {"W1", "W2"};
  int w1_steps = 200;  // WORKLOADS.md: >= 100 for W1, >= 10 for W2
  int w2_steps = 11;
  std::string torch = "auto";  // "auto": use torch when importable; "off"
  std::string python;          // empty: $FANIN_TORCH_PYTHON, python3, /usr/bin/python3
};

// One implementation's timings of one workload.
struct Row {
  std::string workload;
  std::string id;    // short, the ratio columns' header: "fanin-cpu2", "torch-cpu2"
  std::string what;  // the long description
  std::vector<double> times_ms;
  std::optional<std::array<double, 3>> losses;  // absent for rows that do not train
};

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

const MlpWorkload& WorkloadNamed(const std::string& name) {
  if (name == "W1") return W1();
  if (name == "W2") return W2();
  throw std::invalid_argument("unknown workload '" + name + "'; valid: W1, W2");
}

int StepsFor(const MlpWorkload& w, const Options& o) {
  return w.name == "W1" ? o.w1_steps : o.w2_steps;
}

enum class StepKind {
  kPlain,
  kRecorded,    // recorded once (Sequential::RecordTrainStep: one CUDA graph on a GPU), replayed
  kFusedStats,  // with a StatsHook recording every step (StatsMode::kFused, as it comes)
};

// fanin's own step: reference losses first (those 10 steps double as warm-up), then timed
// steps, each synchronized.
Row TimeFaninStep(const MlpWorkload& workload, const std::string& device_id,
                  const std::shared_ptr<Backend>& backend, int steps,
                  StepKind kind = StepKind::kPlain) {
  MlpInstance w = Instantiate(workload, backend);
  std::optional<RecordedTrainStep> replay;
  if (kind == StepKind::kRecorded) replay.emplace(w.model.RecordTrainStep(w.x, w.y));
  if (kind == StepKind::kFusedStats) {
    w.model.AddHook(std::make_shared<StatsHook>(
        StatsHookOptions{.mode = StatsMode::kFused, .keep_in_memory = false}));
  }
  auto step = [&] { replay ? replay->Run() : w.model.TrainStep(w.x, w.y); };
  std::array<double, 3> losses{};
  int taken = 0;
  for (size_t i = 0; i < kReferenceSteps.size(); ++i) {
    for (; taken < kReferenceSteps[i]; ++taken) step();
    losses[i] = MeanLoss(w);
  }
  step();
  backend->Synchronize();
  const char* prefix[] = {"fanin-", "fanin-graph-", "fanin-stats-"};
  const char* what[] = {"fanin step, ", "fanin step recorded once, replayed, ",
                        "fanin step with fused statistics of every layer at every step (log2 "
                        "histograms every 10th), "};
  const auto k = static_cast<size_t>(kind);
  Row row{workload.name, prefix[k] + device_id, what[k] + backend->Describe(), {}, losses};
  for (int i = 0; i < steps; ++i) {
    const Clock::time_point start = Clock::now();
    step();
    backend->Synchronize();
    row.times_ms.push_back(Ms(Clock::now() - start));
  }
  return row;
}

// One GEMM call of a step, with operands of its shapes on `backend`.
struct GemmCall {
  GemmShape g;
  Tensor a, b, c;
};

// Only the step's GEMM calls, through ops::Gemm, or through OpenBLAS on the CPU when
// `openblas_threads` > 0, on operands of the step's shapes.
Row TimeBareGemms(const MlpWorkload& workload, const std::string& device_id,
                  const std::shared_ptr<Backend>& backend, int steps, int openblas_threads = 0) {
  std::vector<GemmCall> calls;
  uint32_t stream = 0;
  for (const GemmShape& g : StepGemms(workload)) {
    GemmCall call{g, Tensor(backend, g.transpose_a ? Shape{g.k, g.m} : Shape{g.m, g.k}),
                  Tensor(backend, g.transpose_b ? Shape{g.n, g.k} : Shape{g.k, g.n}),
                  Tensor(backend, {g.m, g.n})};
    ops::FillRandom(call.a, {.a = -1.0, .b = 1.0, .seed = 5, .stream = stream++});
    ops::FillRandom(call.b, {.a = -1.0, .b = 1.0, .seed = 5, .stream = stream++});
    calls.push_back(std::move(call));
  }
  if (openblas_threads > 0) openblas_set_num_threads(openblas_threads);
  auto run = [&] {
    for (GemmCall& c : calls) {
      if (openblas_threads > 0) {
        OpenBlasGemm(c.g, c.a.data(), c.b.data(), c.c.data());
      } else {
        ops::Gemm(c.a, c.g.transpose_a, c.b, c.g.transpose_b, 1.0f, 0.0f, c.c);
      }
    }
    backend->Synchronize();
  };
  const std::string what = openblas_threads > 0 ? "OpenBLAS " + std::to_string(openblas_threads) +
                                                      " thread(s), " + openblas_get_config()
                                                : backend->Describe();
  Row row{workload.name,
          (openblas_threads > 0 ? "openblas-" : "gemms-") + device_id,
          "the step's " + std::to_string(calls.size()) + " GEMMs alone, " + what,
          {},
          std::nullopt};
  for (int i = 0; i < 3; ++i) run();
  for (int i = 0; i < steps; ++i) {
    const Clock::time_point start = Clock::now();
    run();
    row.times_ms.push_back(Ms(Clock::now() - start));
  }
  return row;
}

// ---- PyTorch peer ------------------------------------------------------------------------

std::string RunCommand(const std::string& command, int* status) {
  std::string output;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) {
    *status = -1;
    return output;
  }
  char buffer[4096];
  while (fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  *status = pclose(pipe);
  return output;
}

bool PythonCan(const std::string& python, const std::string& code) {
  int status = 0;
  RunCommand(python + " -c '" + code + "'", &status);
  return status == 0;
}

// The Pythons tried for torch, in order.
std::vector<std::string> PythonCandidates(const Options& o) {
  std::vector<std::string> candidates;
  if (!o.python.empty()) candidates.push_back(o.python);
  if (const char* env = std::getenv("FANIN_TORCH_PYTHON")) candidates.emplace_back(env);
  candidates.insert(candidates.end(), {"python3", "/usr/bin/python3"});
  return candidates;
}

// The first of PythonCandidates that imports torch, or empty.
std::string FindTorchPython(const Options& o) {
  for (const std::string& python : PythonCandidates(o)) {
    if (PythonCan(python, "import torch")) return python;
  }
  return "";
}

std::string PeerScript() {
  if (const char* env = std::getenv("FANIN_TORCH_PEER")) return env;
  return FANIN_BENCH_SOURCE_DIR "/torch_peer.py";
}

// x, y and the flat parameters as raw float32 files, for the Python peer.
void WriteWorkloadFiles(const MlpWorkload& w, const std::filesystem::path& dir) {
  auto write = [&](const char* name, const std::vector<float>& v) {
    std::ofstream out(dir / name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(v.data()),
              static_cast<std::streamsize>(v.size() * sizeof(float)));
    if (!out) throw std::runtime_error("cannot write " + (dir / name).string());
  };
  const std::vector<float> x = Inputs(w);
  write("x.f32", x);
  write("y.f32", Labels(x, w));
  write("params.f32", FlatParameters(w));
}

std::optional<Row> TimeTorch(const MlpWorkload& w, const std::string& python,
                             const std::filesystem::path& dir, const std::string& device,
                             int threads, const std::string& mode, int steps,
                             const std::string& coretype = "") {
  std::ostringstream units;
  for (size_t i = 0; i < w.units.size(); ++i) units << (i ? "," : "") << w.units[i];
  std::ostringstream cmd;
  if (!coretype.empty()) cmd << "OPENBLAS_CORETYPE=" << coretype << " ";
  if (threads > 0) {
    // Debian's torch calls the system BLAS, whose own thread pool ignores set_num_threads.
    cmd << "OMP_NUM_THREADS=" << threads << " OPENBLAS_NUM_THREADS=" << threads << " ";
  }
  cmd << python << " " << PeerScript() << " --data " << dir.string() << " --batch " << w.batch
      << " --features " << w.input_features << " --units " << units.str() << " --activation "
      << ActivationName(w.hidden_activation) << " --lr " << w.learning_rate << " --device "
      << device << " --threads " << threads << " --mode " << mode << " --steps " << steps
      << " --warmup 20";
  int status = 0;
  const std::string output = RunCommand(cmd.str(), &status);
  Row row{w.name, mode == "compile" ? "torch-compile-" + device : "torch-" + device, "", {}, {}};
  if (device == "cpu") row.id += std::to_string(threads);
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string key;
    fields >> key;
    if (key == "label") {
      std::getline(fields >> std::ws, row.what);
    } else if (key == "losses") {
      std::array<double, 3> l{};
      for (double& v : l) fields >> v;
      row.losses = l;
    } else if (key == "times_ms") {
      for (double t; fields >> t;) row.times_ms.push_back(t);
    }
  }
  if (status != 0 || row.times_ms.empty()) {
    std::cerr << "torch peer (" << row.id << ") failed; its output:\n" << output << "\n";
    return std::nullopt;
  }
  if (!coretype.empty()) row.what += ", OPENBLAS_CORETYPE=" + coretype;
  return row;
}

// The OpenBLAS kernels PyTorch's CPU rows are tried with: those of the environment (what
// OPENBLAS_CORETYPE says, or OpenBLAS's own detection), and, where the processor has AVX-512,
// SkylakeX's. An environment can name slower kernels than the processor has: this machine's
// sets OPENBLAS_CORETYPE=Haswell (AVX2) on an AVX-512 AMD EPYC that OpenBLAS alone detects
// as Cooperlake, which made W2's PyTorch step 1.7x slower (164 against 97 ms, 2026-12-07);
// and OpenBLAS 0.3.21 alone takes an Intel Xeon model 207 for Prescott (docs/benchmarks.md).
std::vector<std::string> PeerCoretypes() {
  std::vector<std::string> coretypes = {""};
  const char* set = std::getenv("OPENBLAS_CORETYPE");
  if (set != nullptr && std::string(set) == "SkylakeX") return coretypes;
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) == 0) {
      if (line.find(" avx512f") != std::string::npos) coretypes.push_back("SkylakeX");
      break;
    }
  }
  return coretypes;
}

// The faster (by median) of the peer's runs with each of PeerCoretypes.
std::optional<Row> TimeTorchCpu(const MlpWorkload& w, const std::string& python,
                                const std::filesystem::path& dir, int threads, int steps) {
  std::optional<Row> best;
  for (const std::string& coretype : PeerCoretypes()) {
    std::optional<Row> row = TimeTorch(w, python, dir, "cpu", threads, "eager", steps, coretype);
    if (row && (!best || Median(row->times_ms) < Median(best->times_ms))) best = std::move(row);
  }
  return best;
}

// PyTorch's best on the CPU: a copy of the faster (by median) of its 1- and 2-thread rows.
std::optional<Row> FasterCpuPeer(const std::vector<Row>& peers) {
  const Row* best = nullptr;
  for (const Row& r : peers) {
    if (r.id != "torch-cpu1" && r.id != "torch-cpu2") continue;
    if (best == nullptr || Median(r.times_ms) < Median(best->times_ms)) best = &r;
  }
  if (best == nullptr) return std::nullopt;
  Row row = *best;
  row.id = "torch-best";
  row.what = "the faster of torch-cpu1 and torch-cpu2 (" + best->id + "): " + best->what;
  return row;
}

// This process's threads other than the caller (Linux): "name (state)" each, and whether
// all of them sleep. The one expected is OpenBLAS's worker, started when the library loads,
// which yields in a loop for a while before it sleeps.
std::pair<std::string, bool> OtherThreads() {
  std::error_code error;
  std::string list;
  bool all_asleep = true;
  const std::string self = std::to_string(gettid());
  for (auto it = std::filesystem::directory_iterator("/proc/self/task", error);
       !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
    if (it->path().filename() == self) continue;
    std::ifstream stat(it->path() / "stat");
    std::string line;
    std::getline(stat, line);
    // pid (comm) state ...: the state follows the last ')'.
    const size_t close = line.rfind(')');
    const char state =
        close != std::string::npos && close + 2 < line.size() ? line[close + 2] : '?';
    all_asleep = all_asleep && (state == 'S' || state == 'D');
    list += (list.empty() ? "" : ", ") + std::string("thread ") + it->path().filename().string() +
            " (" + state + ")";
  }
  return {list.empty() ? "none" : list, all_asleep};
}

// Waits (up to 5 s) until every other thread of this process sleeps, and says what it saw.
void WaitForOtherThreadsToSleep() {
  auto [list, asleep] = OtherThreads();
  for (int i = 0; i < 50 && !asleep; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::tie(list, asleep) = OtherThreads();
  }
  std::cerr << "other threads of this process while the peers run: " << list
            << (asleep ? "" : " (still running after 5 s)") << "\n";
}

std::vector<std::pair<std::string, std::shared_ptr<Backend>>> MakeBackends() {
  std::vector<std::pair<std::string, std::shared_ptr<Backend>>> backends = {
      {"cpu1", MakeBackend("cpu", BackendOptions{.num_threads = 1})},
      {"cpu2", MakeBackend("cpu", BackendOptions{.num_threads = 2})}};
  if (CudaAvailable()) backends.emplace_back("cuda", MakeBackend("cuda"));
  return backends;
}

// ---- Report ------------------------------------------------------------------------------

std::string Format(const char* format, double v) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, v);
  return buffer;
}

// A device or peer that was not run: "<name>: skipped, <why>".
struct Skipped {
  std::string name;
  std::string why;
};

void PrintSkipped(const std::vector<Skipped>& skipped) {
  for (const Skipped& s : skipped) std::cout << s.name << ": skipped, " << s.why << "\n";
}

void PrintTable(const std::vector<Row>& rows, const std::vector<Skipped>& skipped) {
  std::vector<std::string> ids;
  for (const Row& r : rows) {
    if (std::find(ids.begin(), ids.end(), r.id) == ids.end()) ids.push_back(r.id);
  }
  std::map<std::pair<std::string, std::string>, double> medians;
  for (const Row& r : rows) medians[{r.workload, r.id}] = Median(r.times_ms);

  std::cout << "| workload | row | ms median | ms min | ms max | samples/s | GFLOP/s | "
               "max abs loss dev |";
  for (const std::string& id : ids) std::cout << " / " << id << " |";
  std::cout << "\n|---|---|---:|---:|---:|---:|---:|---:|";
  for (size_t i = 0; i < ids.size(); ++i) std::cout << "---:|";
  std::cout << "\n";
  for (const Row& r : rows) {
    const MlpWorkload& w = WorkloadNamed(r.workload);
    const double median = medians[{r.workload, r.id}];
    const auto [lo, hi] = std::minmax_element(r.times_ms.begin(), r.times_ms.end());
    std::string deviation = "n/a (no training)";
    if (r.losses) {
      double worst = 0.0;
      for (size_t i = 0; i < 3; ++i) {
        worst = std::max(worst, std::fabs((*r.losses)[i] - w.reference_losses[i]));
      }
      deviation = Format("%.1e", worst) + (worst <= kLossTolerance ? " ok" : " MISMATCH");
    }
    std::cout << "| " << r.workload << " | " << r.id << " | " << Format("%.3f", median) << " | "
              << Format("%.3f", *lo) << " | " << Format("%.3f", *hi) << " | "
              << Format("%.0f", static_cast<double>(w.batch) / (median * 1e-3)) << " | "
              << Format("%.1f", StepFlops(w) / (median * 1e-3) * 1e-9) << " | " << deviation
              << " |";
    for (const std::string& id : ids) {
      const auto peer = medians.find({r.workload, id});
      std::cout << " " << (peer == medians.end() ? "" : Format("%.2f", median / peer->second))
                << " |";
    }
    std::cout << "\n";
  }
  std::cout << "\nRows:\n";
  for (const Row& r : rows) {
    std::cout << "- " << r.workload << " " << r.id << ": " << r.what << ", " << r.times_ms.size()
              << " timed steps\n";
  }
  if (skipped.empty()) return;
  std::cout << "\nNot run:\n";
  PrintSkipped(skipped);
}

// Every device or peer this program knows and does not run here, with the reason.
std::vector<Skipped> WhatIsSkipped(const Options& options, const std::string& python,
                                   bool torch_cuda, bool torch_compile) {
  std::vector<Skipped> skipped;
  if (!CudaAvailable()) skipped.push_back({"cuda", CudaUnavailableReason()});
  if (options.torch == "off") {
    skipped.push_back({"torch", "turned off by --torch=off"});
  } else if (python.empty()) {
    std::string tried;
    for (const std::string& candidate : PythonCandidates(options)) {
      tried += (tried.empty() ? "" : ", ") + candidate;
    }
    skipped.push_back({"torch", "PyTorch not importable by " + tried +
                                    " (name one with --python or FANIN_TORCH_PYTHON, or on "
                                    "Debian: apt-get install python3-torch)"});
  } else if (!torch_cuda) {
    const std::string why = CudaAvailable() ? "torch.cuda.is_available() is false in " + python
                                            : CudaUnavailableReason();
    skipped.push_back({"torch-cuda", why});
    skipped.push_back({"torch-compile-cuda", why});
  } else if (!torch_compile) {
    skipped.push_back({"torch-compile-cuda", "the torch of " + python + " has no torch.compile"});
  }
  return skipped;
}

Options ParseOptions(int argc, char** argv) {
  Options o;
  CLI::App app(
      "The W1/W2 training step on every backend here, next to its bare GEMMs (fanin's "
      "backends, OpenBLAS) and PyTorch where found.",
      "fanin_compare");
  cli::ShowDefaults(app);
  constexpr int kMaxInt = std::numeric_limits<int>::max();
  app.add_option("--workloads", o.workloads, "workloads to run, comma-separated")
      ->delimiter(',')
      ->check(CLI::IsMember({"W1", "W2"}));
  app.add_option("--w1-steps", o.w1_steps, "timed steps of W1 (WORKLOADS.md: >= 100)")
      ->transform(cli::Integer(1, kMaxInt));
  app.add_option("--w2-steps", o.w2_steps, "timed steps of W2 (WORKLOADS.md: >= 10)")
      ->transform(cli::Integer(1, kMaxInt));
  app.add_option("--torch", o.torch, "PyTorch rows: auto (when importable) or off")
      ->check(CLI::IsMember({"auto", "off"}));
  app.add_option("--python", o.python,
                 "Python with torch (default: $FANIN_TORCH_PYTHON, python3, /usr/bin/python3)");
  cli::ParseOrExit(app, argc, argv);
  return o;
}

int Main(int argc, char** argv) {
  const Options options = ParseOptions(argc, argv);

  const std::string python = options.torch == "off" ? "" : FindTorchPython(options);
  const bool torch_cuda = !python.empty() && CudaAvailable() &&
                          PythonCan(python,
                                    "import sys, torch; "
                                    "sys.exit(0 if torch.cuda.is_available() else 1)");
  const bool torch_compile =
      torch_cuda &&
      PythonCan(python, "import sys, torch; sys.exit(0 if hasattr(torch, \"compile\") else 1)");
  const std::vector<Skipped> skipped = WhatIsSkipped(options, python, torch_cuda, torch_compile);
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  const std::time_t now = std::time(nullptr);
  std::cout << "fanin_compare, " << std::put_time(std::gmtime(&now), "%Y-%m-%d %H:%M UTC")
            << ", OPENBLAS_CORETYPE=" << (coretype ? coretype : "(unset)") << "\n";
  if (!python.empty()) {
    std::cout << "PyTorch rows: " << python << (torch_cuda ? ", CUDA" : ", CPU only")
              << (torch_compile ? ", torch.compile" : "") << "\n";
  }
  PrintSkipped(skipped);
  std::cout << "\n";

  // The peers run first, for every workload, while this process is one thread blocked in
  // popen: fanin has not yet entered an OpenMP region or a oneDNN primitive, so none of its
  // threads exists to spin, or to wake, while PyTorch is timed.
  std::map<std::string, std::vector<Row>> peer_rows;
  if (!python.empty()) WaitForOtherThreadsToSleep();
  for (const std::string& name : options.workloads) {
    if (python.empty()) break;
    const MlpWorkload& w = WorkloadNamed(name);
    const int steps = std::max(StepsFor(w, options), kMinPeerSteps);
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("fanin_compare_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    WriteWorkloadFiles(w, dir);
    std::vector<std::optional<Row>> peers;
    for (int threads : {1, 2}) {
      std::cerr << name << ": torch cpu" << threads << "...\n";
      peers.push_back(TimeTorchCpu(w, python, dir, threads, steps));
    }
    if (torch_cuda) peers.push_back(TimeTorch(w, python, dir, "cuda", 0, "eager", steps));
    if (torch_compile) peers.push_back(TimeTorch(w, python, dir, "cuda", 0, "compile", steps));
    std::filesystem::remove_all(dir);
    std::vector<Row>& out = peer_rows[name];
    for (std::optional<Row>& peer : peers) {
      if (peer) out.push_back(std::move(*peer));
    }
    if (std::optional<Row> best = FasterCpuPeer(out)) out.push_back(std::move(*best));
  }

  const std::vector<std::pair<std::string, std::shared_ptr<Backend>>> backends = MakeBackends();
  std::vector<Row> rows;
  for (const std::string& name : options.workloads) {
    const MlpWorkload& w = WorkloadNamed(name);
    const int steps = StepsFor(w, options);
    for (const auto& [id, backend] : backends) {
      std::cerr << name << ": fanin " << id << "...\n";
      rows.push_back(TimeFaninStep(w, id, backend, steps));
      rows.push_back(TimeFaninStep(w, id, backend, steps, StepKind::kFusedStats));
      if (backend->name() == "cuda") {
        rows.push_back(TimeFaninStep(w, id, backend, steps, StepKind::kRecorded));
      }
      rows.push_back(TimeBareGemms(w, id, backend, steps));
    }
    for (int threads : {1, 2}) {
      std::cerr << name << ": OpenBLAS, " << threads << " thread(s)...\n";
      rows.push_back(
          TimeBareGemms(w, "cpu" + std::to_string(threads), HostBackend(), steps, threads));
      // Let OpenBLAS's spinning workers sleep before the next row is timed.
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    for (Row& peer : peer_rows[name]) rows.push_back(std::move(peer));
  }
  PrintTable(rows, skipped);
  bool all_match = true;
  for (const Row& r : rows) {
    if (!r.losses) continue;
    for (size_t i = 0; i < 3; ++i) {
      all_match &= std::fabs((*r.losses)[i] - WorkloadNamed(r.workload).reference_losses[i]) <=
                   kLossTolerance;
    }
  }
  return all_match ? 0 : 1;
}

}  // namespace
}  // namespace fanin::bench

int main(int argc, char** argv) {
  try {
    return fanin::bench::Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "fanin_compare: " << e.what() << "\n";
    return 2;
  }
}
