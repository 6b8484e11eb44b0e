// Metrics of a model's predictions against the labels, computed on the host from Predict's
// output: what a classifier or a regression is judged by beyond its loss.
//
//   const fanin::Tensor p = model.Predict(test.x);
//   fanin::ClassificationMetrics m = fanin::Classify(p, test.y);   // m.macro_f1, m.roc_auc
//   fanin::RegressionMetrics r = fanin::Regress(p, test.y);         // r.r2
#pragma once

#include <cstdint>
#include <vector>

#include "fanin/tensor.h"

namespace fanin {

struct ClassificationMetrics {
  int64_t classes = 0;
  // confusion[t * classes + p]: samples of true class t predicted as p.
  std::vector<int64_t> confusion;
  double accuracy = 0.0;
  // Per class; a class never predicted has precision 0, one never present recall 0, as
  // scikit-learn's zero_division=0.
  std::vector<double> precision, recall, f1;
  double macro_f1 = 0.0;  // the unweighted mean of f1
  // Binary only: the probability that a random positive scores above a random negative (ties
  // count one half), from the scores before thresholding; NaN when a class is absent.
  double roc_auc = 0.0;
};

// predictions: Predict's output, [n x 1] probabilities of class 1 (threshold 0.5) or [n x k]
// class probabilities (argmax, the first largest); labels: [n x 1] 0/1 or class indices (a
// label >= 0.5 is class 1 for the binary case), or [n x k] one-hot or soft labels (the class
// is the row's argmax, as categorical_crossentropy takes them). Throws std::invalid_argument naming
// the shapes when they do not go together, or a label that is not a class.
ClassificationMetrics Classify(const Tensor& predictions, const Tensor& labels);

struct RegressionMetrics {
  double mean_squared_error = 0.0, mean_absolute_error = 0.0;
  // 1 - SS_res / SS_tot over all outputs (scikit-learn's r2_score with uniform averaging over
  // the outputs is the mean of per-output R^2; this pools them). NaN when the targets are
  // constant.
  double r2 = 0.0;
};

// predictions and targets of one shape; throws std::invalid_argument naming both otherwise.
RegressionMetrics Regress(const Tensor& predictions, const Tensor& targets);

}  // namespace fanin
