#include "fanin/study.h"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "plot/internal.h"

namespace fanin::study {
namespace {

int ParseInt(std::string_view flag, std::string_view text) {
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    throw std::invalid_argument(std::string(flag) + " needs an integer, got '" + std::string(text) +
                                "'");
  }
  return value;
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

Options ParseOptions(int argc, const char* const* argv, const Options& defaults) {
  Options options = defaults;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      options.help = true;
      continue;
    }
    if (flag != "--seeds" && flag != "--out" && flag != "--device" && flag != "--epochs") {
      throw std::invalid_argument("unknown option '" + std::string(flag) + "'");
    }
    if (i + 1 >= argc) throw std::invalid_argument(std::string(flag) + " needs a value");
    const std::string_view value = argv[++i];
    if (flag == "--seeds") options.seeds = ParseInt(flag, value);
    if (flag == "--epochs") options.epochs = ParseInt(flag, value);
    if (flag == "--out") options.out = value;
    if (flag == "--device") options.device = value;
  }
  if (options.seeds < 1) throw std::invalid_argument("--seeds must be at least 1");
  if (options.epochs < 0) throw std::invalid_argument("--epochs must not be negative");
  if (options.out.empty()) throw std::invalid_argument("--out must name a directory");
  return options;
}

std::string FormatNumber(double value, int digits) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*g", digits, value);
  return buffer;
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
  plot::internal::WriteFileAtomically(path, text);
}

Progress::Progress(std::string label, int64_t total)
    : label_(std::move(label)),
      total_(total),
      enabled_(isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()) {
  Draw();
}

Progress::~Progress() {
  if (!enabled_) return;
  last_draw_ = {};  // force the final count
  Draw();
  std::fputc('\n', stderr);
}

void Progress::Advance(int64_t count) {
  done_ += count;
  if (std::chrono::steady_clock::now() - last_draw_ > std::chrono::milliseconds(100)) Draw();
}

void Progress::Draw() {
  if (!enabled_) return;
  last_draw_ = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(last_draw_ - start_).count();
  std::fprintf(stderr, "\r%s: %lld/%lld, %.1f s", label_.c_str(), static_cast<long long>(done_),
               static_cast<long long>(total_), elapsed);
  std::fflush(stderr);
}

}  // namespace fanin::study
