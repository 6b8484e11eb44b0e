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
  Tensor y;  // [n x 1]: 0 or 1, a class index, or a target (see each maker)
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

// Gaussian blobs, as scikit-learn's make_blobs: `classes` centers drawn uniformly in
// [-center_box, center_box]^n_dims, then n_points / classes points around each (the first
// n % classes centers one more), each coordinate the center's plus N(0, spread^2); y the
// class index 0..classes-1, the points in class order. Philox streams (seed, 0) for the
// centers and (seed, 1) for the offsets. Throws std::invalid_argument for classes < 2,
// n_dims < 1, n_points < classes, or a spread or center_box that is not finite and > 0.
Dataset Blobs(int64_t classes = 3, int64_t n_dims = 2, int64_t n_points = 600, double spread = 1.0,
              double center_box = 5.0, uint64_t seed = 0);

// A regression set: x uniform in [-1, 1]^n_dims, y = sin(pi x_1) + sum_{j>1} x_j / j plus
// N(0, noise^2) (a smooth nonlinear target that every input moves). Philox streams (seed,
// 0) for x and (seed, 1) for the noise. Throws std::invalid_argument for n_dims < 1,
// n_points < 2, or a noise that is negative or not finite.
Dataset Regression(int64_t n_dims = 3, int64_t n_points = 1000, double noise = 0.1,
                   uint64_t seed = 0);

// What a CSV file's label column may hold.
enum class CsvLabels {
  kBinary,      // 0 or 1 (binary_crossentropy)
  kSoft,        // values in [0, 1] (binary_crossentropy with soft labels)
  kClassIndex,  // integers 0, 1, 2, ... (sparse_categorical_crossentropy)
  kContinuous,  // any finite value (mean_squared_error, mean_absolute_error)
};

// A CSV file with a header row and numeric cells; `label_column` names the label (of the
// kind `labels` says), every other column is a feature. Cells may be quoted as in RFC 4180 (header
// cells too: "a,b" is one name); a UTF-8 byte-order mark before the header is skipped. A missing,
// non-numeric, NaN, infinite or out-of-float-range cell, a ragged row, an unterminated
// quote, and an unknown or repeated label column throw std::invalid_argument naming the
// file and, where they apply, the row and column.
Dataset LoadCsv(const std::string& path, std::string_view label_column,
                CsvLabels labels = CsvLabels::kBinary);

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
