// Helpers shared by the study programs (python-free-examples/init_study.cpp and
// activation_study.cpp): their command line, CSV tables, text files and progress display.
// Percentiles over seeds come from fanin::plot::QuantilesOf (numpy's linear interpolation).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace fanin::study {

// --seeds N, --out DIR, --device cpu|cuda|auto, --epochs E.
struct Options {
  int seeds = 30;
  std::string out;
  std::string device = "auto";
  int epochs = 0;
  bool help = false;  // --help or -h was given
};

// `defaults` holds each option's value when it is not given. Throws std::invalid_argument
// for an unknown flag, a missing or malformed value, seeds < 1 or epochs < 0.
Options ParseOptions(int argc, const char* const* argv, const Options& defaults);

// "0.0123", "1.5e-07": `digits` significant digits (printf's %g); "nan", "inf" as such.
std::string FormatNumber(double value, int digits = 3);

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

// A one-line "label: done/total, elapsed" counter on stderr, redrawn at most ten times a
// second, and only when stderr is a terminal (a log file or a pipe gets nothing).
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
  bool enabled_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace fanin::study
