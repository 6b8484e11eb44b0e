#include "fanin/datasets.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fanin/backend.h"
#include "fanin/random.h"
#include "src/permutation.h"

namespace fanin {
namespace {

Dataset MakeDataset(std::vector<float> x, std::vector<float> y, int64_t features,
                    std::vector<std::string> names) {
  const int64_t n = static_cast<int64_t>(y.size());
  Dataset d;
  d.x = Tensor::FromHost(HostBackend(), {n, features}, x);
  d.y = Tensor::FromHost(HostBackend(), {n, 1}, y);
  d.feature_names = std::move(names);
  return d;
}

std::vector<std::string> NumberedNames(int64_t count) {
  std::vector<std::string> names;
  for (int64_t i = 1; i <= count; ++i) {
    std::string name = "x";  // append, not "x" + ...: GCC 12 warns falsely on the latter
    name += std::to_string(i);
    names.push_back(std::move(name));
  }
  return names;
}

// Calls bad(rule) when `value` is not a label of kind `kind`; the rule tells what is, and
// for the binary kind, which kinds take other labels.
template <typename Bad>
void CheckCsvLabel(CsvLabels kind, float value, Bad bad) {
  switch (kind) {
    case CsvLabels::kBinary:
      if (value != 0.0f && value != 1.0f) {
        bad("0 or 1 (for class indices load with CsvLabels::kClassIndex, for soft labels "
            "kSoft, for regression targets kContinuous)");
      }
      break;
    case CsvLabels::kSoft:
      if (!(value >= 0.0f && value <= 1.0f)) bad("in [0, 1]");
      break;
    case CsvLabels::kClassIndex:
      if (!(value >= 0.0f && std::floor(value) == value && value < 16777216.0f)) {
        bad("a class index (an integer 0, 1, 2, ... below 2^24)");
      }
      break;
    case CsvLabels::kContinuous:
      break;
  }
}

}  // namespace

Dataset Blobs(int64_t classes, int64_t n_dims, int64_t n_points, double spread, double center_box,
              uint64_t seed) {
  if (classes < 2 || n_dims < 1 || n_points < classes) {
    throw std::invalid_argument(
        "Blobs: needs classes >= 2, n_dims >= 1 and n_points >= classes, "
        "got " +
        std::to_string(classes) + ", " + std::to_string(n_dims) + " and " +
        std::to_string(n_points));
  }
  if (!(std::isfinite(spread) && spread > 0.0 && std::isfinite(center_box) && center_box > 0.0)) {
    throw std::invalid_argument("Blobs: spread and center_box must be finite and > 0, got " +
                                std::to_string(spread) + " and " + std::to_string(center_box));
  }
  const RandomSpec centers{RandomDistribution::kUniform, -center_box, center_box, seed, 0};
  const RandomSpec offsets{RandomDistribution::kNormal, 0.0, spread, seed, 1};
  std::vector<float> x, y;
  x.reserve(static_cast<size_t>(ShapeSize({n_points, n_dims})));
  int64_t row = 0;
  for (int64_t c = 0; c < classes; ++c) {
    const int64_t count = n_points / classes + (c < n_points % classes ? 1 : 0);
    for (int64_t i = 0; i < count; ++i, ++row) {
      for (int64_t j = 0; j < n_dims; ++j) {
        const double center = RandomValue(centers, static_cast<uint64_t>(c * n_dims + j));
        const double offset = RandomValue(offsets, static_cast<uint64_t>(row * n_dims + j));
        x.push_back(static_cast<float>(center + offset));
      }
      y.push_back(static_cast<float>(c));
    }
  }
  return MakeDataset(std::move(x), std::move(y), n_dims, NumberedNames(n_dims));
}

Dataset Regression(int64_t n_dims, int64_t n_points, double noise, uint64_t seed) {
  if (n_dims < 1 || n_points < 2) {
    throw std::invalid_argument("Regression: needs n_dims >= 1 and n_points >= 2, got " +
                                std::to_string(n_dims) + " and " + std::to_string(n_points));
  }
  if (!(std::isfinite(noise) && noise >= 0.0)) {
    throw std::invalid_argument("Regression: noise must be finite and >= 0, got " +
                                std::to_string(noise));
  }
  const RandomSpec inputs{RandomDistribution::kUniform, -1.0, 1.0, seed, 0};
  const RandomSpec errors{RandomDistribution::kNormal, 0.0, 1.0, seed, 1};
  constexpr double kPi = 3.14159265358979323846;
  std::vector<float> x, y;
  for (int64_t i = 0; i < n_points; ++i) {
    double target = 0.0;
    for (int64_t j = 0; j < n_dims; ++j) {
      const auto v = static_cast<float>(RandomValue(inputs, static_cast<uint64_t>(i * n_dims + j)));
      x.push_back(v);
      target += j == 0 ? std::sin(kPi * v) : v / static_cast<double>(j + 1);
    }
    target += noise * RandomValue(errors, static_cast<uint64_t>(i));
    y.push_back(static_cast<float>(target));
  }
  return MakeDataset(std::move(x), std::move(y), n_dims, NumberedNames(n_dims));
}

Dataset Ball(int64_t n_dims, int64_t n_points, double radius_fraction, uint64_t seed) {
  if (n_dims < 1 || n_points < 2) {
    throw std::invalid_argument("Ball: needs n_dims >= 1 and n_points >= 2, got " +
                                std::to_string(n_dims) + " and " + std::to_string(n_points));
  }
  if (!(radius_fraction >= 0.0 && std::isfinite(radius_fraction))) {
    throw std::invalid_argument("Ball: radius_fraction must be finite and >= 0, got " +
                                std::to_string(radius_fraction));
  }
  // Stream 0: the normal directions, element (i, j) at index i * n_dims + j; stream 1: the
  // uniform radius of point i at index i.
  const RandomSpec direction{RandomDistribution::kNormal, 0.0, 1.0, seed, 0};
  const RandomSpec radial{RandomDistribution::kUniform, 0.0, 1.0, seed, 1};
  double radius = std::sqrt(static_cast<double>(n_dims));
  std::vector<double> x(static_cast<size_t>(ShapeSize({n_points, n_dims})));
  for (int64_t i = 0; i < n_points; ++i) {
    double norm2 = 0.0;
    for (int64_t j = 0; j < n_dims; ++j) {
      const double v = RandomValue(direction, static_cast<uint64_t>(i * n_dims + j));
      x[static_cast<size_t>(i * n_dims + j)] = v;
      norm2 += v * v;
    }
    const double u = RandomValue(radial, static_cast<uint64_t>(i));
    const double scale = radius / std::sqrt(norm2) * std::pow(u, 1.0 / static_cast<double>(n_dims));
    for (int64_t j = 0; j < n_dims; ++j) x[static_cast<size_t>(i * n_dims + j)] *= scale;
  }
  // Divide everything (and the radius) by the std of all entries together, as DeepReplay does.
  double mean = 0.0;
  for (double v : x) mean += v;
  mean /= static_cast<double>(x.size());
  double variance = 0.0;
  for (double v : x) variance += (v - mean) * (v - mean);
  const double adjustment = 1.0 / std::sqrt(variance / static_cast<double>(x.size()));
  radius *= adjustment;

  std::vector<float> xf(x.size()), y(static_cast<size_t>(n_points));
  for (int64_t i = 0; i < n_points; ++i) {
    double sum = 0.0;
    for (int64_t j = 0; j < n_dims; ++j) {
      const size_t k = static_cast<size_t>(i * n_dims + j);
      xf[k] = static_cast<float>(x[k] * adjustment);
      sum += x[k] * adjustment;
    }
    y[static_cast<size_t>(i)] = std::fabs(sum) > radius * radius_fraction ? 1.0f : 0.0f;
  }
  return MakeDataset(std::move(xf), std::move(y), n_dims, NumberedNames(n_dims));
}

namespace {

// A label as the CSV had it: "1", "0.25".
std::string FormatLabel(float v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", static_cast<double>(v));
  return text;
}

}  // namespace

Split TrainTestSplit(const Dataset& data, double test_fraction, uint64_t seed, bool stratify) {
  const int64_t n = data.x.rows();
  const auto where = [&] {
    return "TrainTestSplit: test_fraction " + std::to_string(test_fraction) + " of " +
           std::to_string(n) + " rows";
  };
  if (!(test_fraction > 0.0 && test_fraction < 1.0)) {
    throw std::invalid_argument(where() + ": the fraction must be in (0, 1)");
  }
  if (data.y.rows() != n) {
    throw std::invalid_argument("TrainTestSplit: x has " + std::to_string(n) + " rows, y " +
                                std::to_string(data.y.rows()));
  }
  const std::vector<float> x = data.x.ToHost(), y = data.y.ToHost();
  const int64_t features = data.x.cols(), outputs = data.y.cols();
  std::vector<int64_t> order(static_cast<size_t>(n));
  SeededPermutation(order, seed, 0);
  // The rows of each group (one label value when stratified, all rows else), in the
  // permutation's order; the first round(fraction * size) of each go to the test side.
  std::vector<float> keys;
  std::vector<size_t> group_of(static_cast<size_t>(n));
  std::vector<int64_t> sizes;
  for (int64_t row : order) {
    const float key = stratify ? y[static_cast<size_t>(row * outputs)] : 0.0f;
    const auto g = static_cast<size_t>(std::find(keys.begin(), keys.end(), key) - keys.begin());
    if (g == keys.size()) {
      keys.push_back(key);
      sizes.push_back(0);
    }
    ++sizes[g];
    group_of[static_cast<size_t>(row)] = g;
  }
  std::vector<int64_t> quotas;
  for (size_t g = 0; g < keys.size(); ++g) {
    quotas.push_back(std::lround(test_fraction * static_cast<double>(sizes[g])));
    if (quotas[g] == 0 || quotas[g] == sizes[g]) {
      throw std::invalid_argument(
          where() + ": " + (stratify ? "label " + FormatLabel(keys[g]) + "'s " : "") +
          std::to_string(sizes[g]) + " rows give " + std::to_string(quotas[g]) +
          " to the test side, which leaves one side empty");
    }
  }
  std::vector<bool> test(static_cast<size_t>(n), false);
  for (int64_t row : order) {
    const size_t g = group_of[static_cast<size_t>(row)];
    if (quotas[g] > 0) {
      test[static_cast<size_t>(row)] = true;
      --quotas[g];
    }
  }
  std::vector<float> side_x[2], side_y[2];
  for (int64_t row : order) {
    const int side = test[static_cast<size_t>(row)] ? 1 : 0;
    side_x[side].insert(side_x[side].end(), x.begin() + row * features,
                        x.begin() + (row + 1) * features);
    side_y[side].insert(side_y[side].end(), y.begin() + row * outputs,
                        y.begin() + (row + 1) * outputs);
  }
  Split split;
  for (int side = 0; side < 2; ++side) {
    Dataset& d = side == 0 ? split.train : split.test;
    const auto rows = static_cast<int64_t>(side_y[side].size()) / outputs;
    d.x = Tensor::FromHost(data.x.backend_ptr(), {rows, features}, side_x[side]);
    d.y = Tensor::FromHost(data.y.backend_ptr(), {rows, outputs}, side_y[side]);
    d.feature_names = data.feature_names;
  }
  return split;
}

Dataset Parabola(int64_t n) {
  if (n < 2) throw std::invalid_argument("Parabola: needs n >= 2, got " + std::to_string(n));
  std::vector<float> x(static_cast<size_t>(ShapeSize({n, 4}))), y(static_cast<size_t>(2 * n));
  for (int64_t i = 0; i < n; ++i) {
    const double x1 = -1.0 + 2.0 * static_cast<double>(i) / static_cast<double>(n - 1);
    for (int label = 0; label < 2; ++label) {
      const size_t row = static_cast<size_t>(label * n + i);
      x[2 * row] = static_cast<float>(x1);
      x[2 * row + 1] = static_cast<float>(x1 * x1 - 0.5 * label);
      y[row] = static_cast<float>(label);
    }
  }
  return MakeDataset(std::move(x), std::move(y), 2, {"x1", "x2"});
}

namespace {

// One line's cells, quoted as RFC 4180 says: a cell in double quotes may hold commas, and ""
// inside it stands for one quote. Spaces and tabs around a cell (outside its quotes) are
// dropped. `context` ("LoadCsv: FILE: row 3 (line 4)") starts every error message.
std::vector<std::string> SplitCsvLine(std::string_view line, const std::string& context) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  auto fail = [&](size_t column, const std::string& what) {
    throw std::invalid_argument(context + ", column " + std::to_string(column + 1) + ": " + what);
  };
  constexpr std::string_view kBlank = " \t";
  std::vector<std::string> cells;
  size_t i = 0;
  while (true) {
    std::string cell;
    while (i < line.size() && kBlank.find(line[i]) != std::string_view::npos) ++i;
    if (i < line.size() && line[i] == '"') {
      for (++i;; ++i) {
        if (i >= line.size()) fail(cells.size(), "quoted cell without a closing quote");
        if (line[i] != '"') {
          cell += line[i];
        } else if (i + 1 < line.size() && line[i + 1] == '"') {
          cell += '"';
          ++i;
        } else {
          break;
        }
      }
      ++i;  // past the closing quote
      while (i < line.size() && kBlank.find(line[i]) != std::string_view::npos) ++i;
      if (i < line.size() && line[i] != ',') fail(cells.size(), "text after a closing quote");
    } else {
      const size_t comma = std::min(line.find(',', i), line.size());
      cell = line.substr(i, comma - i);
      cell.erase(cell.find_last_not_of(kBlank) + 1);
      i = comma;
    }
    cells.push_back(std::move(cell));
    if (i >= line.size()) return cells;
    ++i;  // past the comma
  }
}

}  // namespace

Dataset LoadCsv(const std::string& path, std::string_view label_column, CsvLabels labels) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("LoadCsv: cannot open '" + path + "'");
  const std::string context = "LoadCsv: " + path;
  auto fail = [&](const std::string& what) { throw std::invalid_argument(context + ": " + what); };
  std::string line;
  if (!std::getline(in, line)) fail("empty file, expected a header row");
  // Spreadsheet programs start UTF-8 files with a byte-order mark; it is not part of the
  // first column's name.
  constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
  if (line.starts_with(kByteOrderMark)) line.erase(0, kByteOrderMark.size());
  const std::vector<std::string> header = SplitCsvLine(line, context + ": header (line 1)");
  int64_t label_index = -1;
  std::vector<std::string> feature_names;
  for (size_t c = 0; c < header.size(); ++c) {
    if (header[c] != label_column) {
      feature_names.push_back(header[c]);
    } else if (label_index >= 0) {
      fail("the label column '" + header[c] + "' appears twice in the header, as columns " +
           std::to_string(label_index + 1) + " and " + std::to_string(c + 1));
    } else {
      label_index = static_cast<int64_t>(c);
    }
  }
  if (label_index < 0) {
    std::string columns;
    for (const std::string& h : header) columns += (columns.empty() ? "" : ", ") + h;
    fail("no label column '" + std::string(label_column) + "'; columns: " + columns);
  }
  std::vector<float> x, y;
  int64_t row = 0;
  while (std::getline(in, line)) {
    ++row;
    if (line.empty() || line == "\r") continue;
    const std::string where =
        "row " + std::to_string(row) + " (line " + std::to_string(row + 1) + ")";
    const std::vector<std::string> cells = SplitCsvLine(line, context + ": " + where);
    if (cells.size() != header.size()) {
      fail(where + " has " + std::to_string(cells.size()) + " cells, the header has " +
           std::to_string(header.size()));
    }
    for (size_t c = 0; c < cells.size(); ++c) {
      const std::string& cell = cells[c];
      const std::string at = where + ", column '" + header[c] + "'";
      if (cell.empty()) fail(at + ": missing value");
      float value = 0.0f;
      const auto [end, error] = std::from_chars(cell.data(), cell.data() + cell.size(), value);
      if (error == std::errc::result_out_of_range) {
        fail(at + ": '" + cell +
             "' is out of float range (magnitude above 3.4e38, or nonzero below 1.4e-45)");
      }
      if (error != std::errc() || end != cell.data() + cell.size()) {
        fail(at + ": '" + cell + "' is not a number");
      }
      if (!std::isfinite(value)) fail(at + ": '" + cell + "' is not finite");
      if (static_cast<int64_t>(c) == label_index) {
        CheckCsvLabel(labels, value, [&](const std::string& rule) {
          fail(at + ": label '" + cell + "' is not " + rule);
        });
        y.push_back(value);
      } else {
        x.push_back(value);
      }
    }
  }
  if (y.empty()) fail("no data rows after the header");
  const auto features = static_cast<int64_t>(feature_names.size());
  return MakeDataset(std::move(x), std::move(y), features, std::move(feature_names));
}

}  // namespace fanin
