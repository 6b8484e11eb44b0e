#include "fanin/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>

namespace fanin {
namespace {

// The AUC as the Mann-Whitney statistic: ranks of the scores (ties given their mean rank),
// (sum of the positives' ranks - P (P + 1) / 2) / (P N).
double RocAuc(const std::vector<float>& scores, const std::vector<int64_t>& truth) {
  const size_t n = scores.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double positive_rank_sum = 0.0;
  int64_t positives = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    const double mean_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (size_t k = i; k < j; ++k) {
      if (truth[order[k]] == 1) {
        positive_rank_sum += mean_rank;
        ++positives;
      }
    }
    i = j;
  }
  const auto negatives = static_cast<int64_t>(n) - positives;
  if (positives == 0 || negatives == 0) return std::numeric_limits<double>::quiet_NaN();
  const auto p = static_cast<double>(positives);
  return (positive_rank_sum - p * (p + 1.0) / 2.0) / (p * static_cast<double>(negatives));
}

}  // namespace

ClassificationMetrics Classify(const Tensor& predictions, const Tensor& labels) {
  const bool one_hot =
      predictions.rank() == 2 && predictions.cols() > 1 && labels.shape() == predictions.shape();
  if (predictions.rank() != 2 || (labels.size() != predictions.rows() && !one_hot)) {
    throw std::invalid_argument("Classify: predictions " + ShapeToString(predictions.shape()) +
                                " need one label per row or one-hot labels of their shape, got "
                                "labels " +
                                ShapeToString(labels.shape()));
  }
  const int64_t n = predictions.rows(), cols = predictions.cols();
  const bool binary = cols == 1;
  const int64_t k = binary ? 2 : cols;
  const std::vector<float> p = predictions.ToHost(), y = labels.ToHost();
  ClassificationMetrics m;
  m.classes = k;
  m.confusion.assign(static_cast<size_t>(k * k), 0);
  std::vector<int64_t> truth(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t t = 0;
    if (one_hot) {
      const float* row = y.data() + i * cols;
      t = std::max_element(row, row + cols) - row;
    } else if (const float label = y[i]; binary) {
      t = label >= 0.5f ? 1 : 0;
    } else {
      if (!(label >= 0.0f && label < static_cast<float>(k) && std::floor(label) == label)) {
        std::ostringstream text;
        text << "Classify: label " << label << " of row " << i << " is not a class index 0.."
             << k - 1 << " for predictions " << ShapeToString(predictions.shape());
        throw std::invalid_argument(text.str());
      }
      t = static_cast<int64_t>(label);
    }
    truth[i] = t;
    int64_t predicted = 0;
    if (binary) {
      predicted = p[i] > 0.5f ? 1 : 0;
    } else {
      const float* row = p.data() + i * cols;
      predicted = std::max_element(row, row + cols) - row;
    }
    ++m.confusion[static_cast<size_t>(t * k + predicted)];
  }
  int64_t correct = 0;
  for (int64_t c = 0; c < k; ++c) correct += m.confusion[static_cast<size_t>(c * k + c)];
  m.accuracy = n > 0 ? static_cast<double>(correct) / static_cast<double>(n) : 0.0;
  for (int64_t c = 0; c < k; ++c) {
    int64_t predicted = 0, actual = 0;
    for (int64_t o = 0; o < k; ++o) {
      predicted += m.confusion[static_cast<size_t>(o * k + c)];
      actual += m.confusion[static_cast<size_t>(c * k + o)];
    }
    const auto tp = static_cast<double>(m.confusion[static_cast<size_t>(c * k + c)]);
    const double precision = predicted > 0 ? tp / static_cast<double>(predicted) : 0.0;
    const double recall = actual > 0 ? tp / static_cast<double>(actual) : 0.0;
    m.precision.push_back(precision);
    m.recall.push_back(recall);
    m.f1.push_back(precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0);
  }
  m.macro_f1 = std::accumulate(m.f1.begin(), m.f1.end(), 0.0) / static_cast<double>(k);
  m.roc_auc = binary ? RocAuc(p, truth) : std::numeric_limits<double>::quiet_NaN();
  return m;
}

RegressionMetrics Regress(const Tensor& predictions, const Tensor& targets) {
  if (predictions.shape() != targets.shape()) {
    throw std::invalid_argument("Regress: predictions " + ShapeToString(predictions.shape()) +
                                " and targets " + ShapeToString(targets.shape()) + " differ");
  }
  const std::vector<float> p = predictions.ToHost(), y = targets.ToHost();
  RegressionMetrics r;
  if (y.empty()) return r;
  double mean = 0.0;
  for (const float v : y) mean += v;
  mean /= static_cast<double>(y.size());
  double ss_res = 0.0, ss_tot = 0.0, abs_sum = 0.0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double d = static_cast<double>(p[i]) - y[i];
    ss_res += d * d;
    abs_sum += std::fabs(d);
    ss_tot += (y[i] - mean) * (y[i] - mean);
  }
  const auto count = static_cast<double>(y.size());
  r.mean_squared_error = ss_res / count;
  r.mean_absolute_error = abs_sum / count;
  r.r2 = ss_tot > 0 ? 1.0 - ss_res / ss_tot : std::numeric_limits<double>::quiet_NaN();
  return r;
}

}  // namespace fanin
