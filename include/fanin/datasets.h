// The data sets of the posts, and a CSV loader. All return host tensors (HostBackend()).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fanin/tensor.h"

namespace fanin {

struct Dataset {
  Tensor x;  // [n x features]
  Tensor y;  // [n x 1], 0 or 1
  std::vector<std::string> feature_names;
};

// DeepReplay's ball: n_points uniform in a ball of radius sqrt(n_dims) (a standard-normal
// direction scaled to that radius, times U^(1/n_dims)); then X (and the radius) divided by
// the std of all entries of X together; label 1 where |sum of the coordinates| >
// radius * radius_fraction. Deterministic in `seed`. Throws std::invalid_argument for
// n_dims < 1, n_points < 2 or a radius_fraction that is negative, NaN or infinite.
Dataset Ball(int64_t n_dims = 10, int64_t n_points = 1000, double radius_fraction = 0.5,
             uint64_t seed = 0);

// The activation post's parabolas: x1 = linspace(-1, 1, n); class 0 at x2 = x1^2, class 1
// at x2 = x1^2 - 0.5; 2n points (all of class 0, then all of class 1).
Dataset Parabola(int64_t n = 1000);

// A CSV file with a header row and numeric cells; `label_column` names the label (0/1),
// every other column is a feature. Cells may be quoted as in RFC 4180 (header cells too:
// "a,b" is one name); a UTF-8 byte-order mark before the header is skipped. A missing,
// non-numeric, NaN, infinite or out-of-float-range cell, a ragged row, an unterminated
// quote, and an unknown or repeated label column throw std::invalid_argument naming the
// file and, where they apply, the row and column.
Dataset LoadCsv(const std::string& path, std::string_view label_column);

struct Split {
  Dataset train, test;
};

// A seeded shuffled split: round(test_fraction * n) rows go to `test`, the rest to
// `train`, each in the order of one permutation of the rows (Philox stream (seed, 0), as
// Fit shuffles). With `stratify`, every label value keeps its share: round(test_fraction *
// count) of its rows go to `test`. Throws std::invalid_argument for a fraction outside
// (0, 1) or one that leaves either side (or, stratified, a label's share of it) empty.
Split TrainTestSplit(const Dataset& data, double test_fraction, uint64_t seed,
                     bool stratify = true);

}  // namespace fanin
