#include "python-free-examples/study.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "fanin/command_line.h"
#include "src/atomic_file.h"

namespace fanin::study {
namespace {

// The command line of a study: the options it sets in `options`, their defaults shown.
std::unique_ptr<CLI::App> MakeApp(const char* program, Options& options, int min_epochs) {
  auto app = std::make_unique<CLI::App>(
      "usage: [mpirun -np N] " + std::string(program) + " [OPTIONS]", program);
  constexpr int kMax = 1000000;
  app->add_option("--seeds", options.seeds, "seeds per configuration")
      ->capture_default_str()
      ->transform(cli::Integer(1, kMax));
  app->add_option("--out", options.out, "output directory (replaced whole when complete)")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& text) { return text.empty() ? "must name a directory" : ""; }, "DIR"));
  app->add_option("--device", options.device, "where the runs compute")
      ->capture_default_str()
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  app->add_option("--epochs", options.epochs, "training epochs per run")
      ->capture_default_str()
      ->transform(cli::Integer(min_epochs, kMax));
  return app;
}

std::string CsvField(const std::string& field) {
  if (field.find_first_of(",\"\r\n") == std::string::npos) return field;
  std::string quoted = "\"";
  for (char c : field) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

}  // namespace

Options ParseOptions(int argc, const char* const* argv, const Options& defaults, int min_epochs) {
  Options options = defaults;
  const std::unique_ptr<CLI::App> app = MakeApp(argc > 0 ? argv[0] : "study", options, min_epochs);
  try {
    app->parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    options.help = true;
  } catch (const CLI::ParseError& e) {
    throw std::invalid_argument(e.what());
  }
  return options;
}

std::string Usage(const char* program, const Options& defaults, int min_epochs) {
  Options options = defaults;
  return MakeApp(program, options, min_epochs)->help();
}

int StudyMain(int argc, char** argv, const char* program, const Options& defaults, int min_epochs,
              const StudyBody& study) {
  distributed::World world(&argc, &argv);
  return world.Run([&] {
    Options options;
    try {
      options = ParseOptions(argc, argv, defaults, min_epochs);
    } catch (const std::invalid_argument& e) {
      // Every rank parses the same arguments, so every rank returns here.
      if (world.is_root()) std::fprintf(stderr, "%s: %s\n", program, e.what());
      return 2;
    }
    if (options.help) {
      if (world.is_root()) std::printf("%s", Usage(program, defaults, min_epochs).c_str());
      return 0;
    }
    return study(world, options);
  });
}

std::string ResultKey(const std::string& program, const Options& options, const Backend& backend) {
  // The encoding's number too: results encoded before a field was added (the fused
  // statistics' counts) must be recomputed, not misread.
  return program + " --seeds " + std::to_string(options.seeds) + " --epochs " +
         std::to_string(options.epochs) + " on " + backend.Describe() + ", fanin " FANIN_VERSION +
         ", encoding " + std::to_string(kEncodingVersion);
}

std::string FormatNumber(double value, int digits) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*g", digits, value);
  return buffer;
}

double ProbabilityGreater(const std::vector<double>& a, const std::vector<double>& b) {
  double wins = 0;
  for (double u : a) {
    for (double v : b) wins += u > v ? 1.0 : (u == v ? 0.5 : 0.0);
  }
  return wins / static_cast<double>(a.size() * b.size());
}

size_t RepresentativeSeed(const std::vector<SeedStats>& seeds) {
  const size_t num_layers = seeds.empty() ? 0 : seeds[0].stats->layers.size();
  std::vector<double> log_medians;
  for (size_t l = 0; l < num_layers; ++l) {
    std::vector<double> ratios;
    for (const SeedStats& s : seeds) ratios.push_back(s.stats->layers[l].grad_ratio);
    log_medians.push_back(std::log(plot::QuantilesOf(ratios).median));
  }
  size_t best = 0;
  double best_distance = INFINITY;
  for (size_t s = 0; s < seeds.size(); ++s) {
    double distance = 0;
    for (size_t l = 0; l < num_layers; ++l) {
      const double d = std::log(seeds[s].stats->layers[l].grad_ratio) - log_medians[l];
      distance += std::isfinite(d) ? std::abs(d) : 1e9;
    }
    if (distance < best_distance) {
      best_distance = distance;
      best = s;
    }
  }
  return best;
}

namespace {

void DistributionPanel(plot::Axes& ax, const std::vector<SeedStats>& seeds, size_t representative,
                       std::string_view role, size_t num_layers, const std::string& title,
                       bool legend) {
  ax.title = title;
  ax.legend = legend ? plot::LegendPosition::kRight : plot::LegendPosition::kNone;
  ax.x_label = "layer";
  ax.y_label = "value";
  plot::Violins violins{.label = "seed " + std::to_string(seeds[representative].seed)};
  plot::Band band{.label = "std, p10-p90 of " + std::to_string(seeds.size()) + " seeds"};
  plot::Line median{.label = "std, median", .markers = true, .dashed = true};
  for (size_t l = 0; l < num_layers; ++l) {
    ax.categories.push_back(seeds[representative].stats->layers[l].name);
    const TensorStats& s = *seeds[representative].stats->layers[l][role];
    plot::Histogram histogram;
    const size_t bins = s.histogram.size();
    for (size_t b = 0; b <= bins; ++b) {
      histogram.edges.push_back(s.hist_lo + (s.hist_hi - s.hist_lo) * static_cast<double>(b) /
                                                static_cast<double>(bins));
    }
    histogram.counts.assign(s.histogram.begin(), s.histogram.end());
    violins.data.push_back(histogram);
    std::vector<double> stds;
    for (const SeedStats& seed : seeds) stds.push_back(seed.stats->layers[l][role]->std);
    plot::AppendPercentiles(static_cast<double>(l), plot::QuantilesOf(stds), band, median);
  }
  ax.Add(violins).Add(band).Add(median);
}

}  // namespace

plot::Figure FourPanelFigure(const std::vector<SeedStats>& seeds, size_t representative,
                             const std::string& title) {
  const size_t layers = seeds[representative].stats->layers.size();
  // Wider for deep nets, so that 50 layers' violins stay apart.
  plot::Figure figure({.rows = 2,
                       .cols = 2,
                       .title = title,
                       .plot_width = std::max(330.0, 16.0 * static_cast<double>(layers)),
                       .plot_height = 220});
  // The panels share one legend.
  DistributionPanel(figure.At(0, 0), seeds, representative, "z", layers - 1, "Z-values", false);
  DistributionPanel(figure.At(0, 1), seeds, representative, "kernel", layers, "Weights", true);
  DistributionPanel(figure.At(1, 0), seeds, representative, "activation", layers - 1, "Activations",
                    false);
  DistributionPanel(figure.At(1, 1), seeds, representative, "kernel_grad", layers, "Gradients",
                    false);
  return figure;
}

CsvTable::CsvTable(std::vector<std::string> header) : header_(std::move(header)) {}

void CsvTable::AddRow(std::vector<std::string> row) {
  if (row.size() != header_.size()) {
    throw std::invalid_argument("CsvTable: a row of " + std::to_string(row.size()) +
                                " fields for " + std::to_string(header_.size()) + " columns");
  }
  rows_.push_back(std::move(row));
}

std::string CsvTable::ToString() const {
  std::string text;
  auto append = [&text](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) text += ',';
      text += CsvField(row[i]);
    }
    text += '\n';
  };
  append(header_);
  for (const auto& row : rows_) append(row);
  return text;
}

void CsvTable::Save(const std::string& path) const { WriteTextFile(path, ToString()); }

void WriteTextFile(const std::string& path, const std::string& text) {
  internal::WriteFileAtomically(path, text);
}

Progress::Progress(std::string label, int64_t total)
    : label_(std::move(label)),
      total_(total),
      terminal_(isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()) {
  if (terminal_) Draw();
}

Progress::~Progress() {
  if (terminal_) {
    last_draw_ = {};  // force the final count
    Draw();
    std::fputc('\n', stderr);
  } else if (logged_ != done_) {
    Draw();
  }
}

void Progress::Advance(int64_t count) {
  done_ += count;
  const auto now = std::chrono::steady_clock::now();
  if (terminal_) {
    if (now - last_draw_ > std::chrono::milliseconds(100)) Draw();
    return;
  }
  // A line when the count crosses a tenth of the total, or 30 s after the last one.
  const bool next_tenth = done_ * 10 / std::max<int64_t>(total_, 1) >
                          std::max<int64_t>(logged_, 0) * 10 / std::max<int64_t>(total_, 1);
  if (next_tenth || now - last_draw_ > std::chrono::seconds(30)) Draw();
}

void Progress::Draw() {
  last_draw_ = std::chrono::steady_clock::now();
  logged_ = done_;
  const double elapsed = std::chrono::duration<double>(last_draw_ - start_).count();
  std::fprintf(stderr, "%s%s: %lld/%lld, %.1f s", terminal_ ? "\r" : "", label_.c_str(),
               static_cast<long long>(done_), static_cast<long long>(total_), elapsed);
  // Runs of one study cost alike, so the pace so far predicts the rest.
  if (done_ > 0 && done_ < total_) {
    std::fprintf(stderr, ", about %.0f s left",
                 elapsed / static_cast<double>(done_) * static_cast<double>(total_ - done_));
  }
  // On a terminal, erase what a longer line drew before.
  std::fputs(terminal_ ? "\033[K" : "\n", stderr);
  std::fflush(stderr);
}

void Encoder::Put(const std::string& text) {
  Put(static_cast<uint64_t>(text.size()));
  bytes_ += text;
}

void Encoder::Put(const TensorStats& stats) {
  Put(stats.count);
  Put(stats.nan_count);
  Put(stats.inf_count);
  Put(stats.mean);
  Put(stats.std);
  Put(stats.min);
  Put(stats.max);
  Put(stats.hist_lo);
  Put(stats.hist_hi);
  Put(stats.histogram);
  Put(stats.zero_count);
  Put(stats.saturated_count);
  Put(stats.log2_histogram);
}

void Encoder::Put(const StepStats& step) {
  Put(step.context.step);
  Put(step.context.epoch);
  Put(step.context.batch);
  Put(static_cast<uint64_t>(step.layers.size()));
  for (const LayerStats& layer : step.layers) {
    Put(layer.name);
    Put(static_cast<uint64_t>(layer.tensors.size()));
    for (const NamedStats& tensor : layer.tensors) {
      Put(tensor.name);
      Put(tensor.stats);
    }
    Put(layer.grad_ratio);
    Put(static_cast<uint8_t>(layer.kernel_update.has_value()));
    if (layer.kernel_update) Put(*layer.kernel_update);
    Put(layer.update_ratio);
  }
}

void Encoder::Put(const EpochLogs& logs) {
  Put(logs.epoch);
  Put(logs.loss);
  Put(logs.metric);
  Put(logs.penalty);
  Put(logs.val_loss);
  Put(logs.val_metric);
}

const char* Decoder::Take(size_t count) {
  if (count > bytes_.size()) {
    throw std::runtime_error("study: a run's encoded results end early (" +
                             std::to_string(bytes_.size()) + " bytes left, " +
                             std::to_string(count) + " wanted)");
  }
  const char* data = bytes_.data();
  bytes_.remove_prefix(count);
  return data;
}

void Decoder::Get(std::string& text) {
  const auto size = Next<uint64_t>();
  text.assign(Take(size), size);
}

void Decoder::Get(TensorStats& stats) {
  Get(stats.count);
  Get(stats.nan_count);
  Get(stats.inf_count);
  Get(stats.mean);
  Get(stats.std);
  Get(stats.min);
  Get(stats.max);
  Get(stats.hist_lo);
  Get(stats.hist_hi);
  Get(stats.histogram);
  Get(stats.zero_count);
  Get(stats.saturated_count);
  Get(stats.log2_histogram);
}

void Decoder::Get(StepStats& step) {
  Get(step.context.step);
  Get(step.context.epoch);
  Get(step.context.batch);
  step.layers.resize(Next<uint64_t>());
  for (LayerStats& layer : step.layers) {
    Get(layer.name);
    layer.tensors.resize(Next<uint64_t>());
    for (NamedStats& tensor : layer.tensors) {
      Get(tensor.name);
      Get(tensor.stats);
    }
    Get(layer.grad_ratio);
    layer.kernel_update.reset();
    if (Next<uint8_t>() != 0) Get(layer.kernel_update.emplace());
    Get(layer.update_ratio);
  }
}

void Decoder::Get(EpochLogs& logs) {
  Get(logs.epoch);
  Get(logs.loss);
  Get(logs.metric);
  Get(logs.penalty);
  Get(logs.val_loss);
  Get(logs.val_metric);
}

std::vector<std::string> RunOverRanks(const distributed::World& world, int64_t count,
                                      const std::string& label,
                                      const std::function<std::string(int64_t)>& run,
                                      RunStore* store) {
  std::vector<std::byte> done(static_cast<size_t>(count), std::byte{0});
  if (store != nullptr) {
    for (const auto& [index, result] : store->completed()) {
      if (index >= 0 && index < count) done[static_cast<size_t>(index)] = std::byte{1};
    }
  }
  world.Broadcast(done);
  std::vector<int64_t> remaining;
  for (int64_t i = 0; i < count; ++i) {
    if (done[static_cast<size_t>(i)] == std::byte{0}) remaining.push_back(i);
  }

  const int ranks = world.size();
  const auto share = [&](int rank) {
    std::vector<int64_t> mine;
    for (size_t j = static_cast<size_t>(rank); j < remaining.size();
         j += static_cast<size_t>(ranks)) {
      mine.push_back(remaining[j]);
    }
    return mine;
  };
  Encoder mine;
  {
    const std::vector<int64_t> indices = share(world.rank());
    std::optional<Progress> progress;
    if (world.is_root()) progress.emplace(label, static_cast<int64_t>(indices.size()));
    for (int64_t i : indices) {
      const std::string result = run(i);
      if (store != nullptr) store->Record(i, result);
      mine.Put(result);
      if (progress) progress->Advance();
    }
  }
  const std::vector<std::string> gathered = world.Gather(mine.bytes());
  if (!world.is_root()) return {};
  std::vector<std::string> runs(static_cast<size_t>(count));
  if (store != nullptr) {
    for (const auto& [index, result] : store->completed()) {
      if (index >= 0 && index < count) runs[static_cast<size_t>(index)] = result;
    }
  }
  for (int r = 0; r < static_cast<int>(gathered.size()); ++r) {
    Decoder decoder(gathered[static_cast<size_t>(r)]);
    for (int64_t i : share(r)) {
      decoder.Get(runs[static_cast<size_t>(i)]);
      if (store != nullptr && r != 0) store->Record(i, runs[static_cast<size_t>(i)]);
    }
    if (!decoder.AtEnd())
      throw std::runtime_error("study: rank " + std::to_string(r) +
                               " sent more runs than it was given");
  }
  return runs;
}

}  // namespace fanin::study
