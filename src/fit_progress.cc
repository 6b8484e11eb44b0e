#include "src/fit_progress.h"

#include <unistd.h>

#include <cmath>
#include <string>
#include <utility>

namespace fanin {
namespace {

constexpr int kBarWidth = 30;

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// "12 ms" under a second, else "3.45 s".
std::string Duration(double seconds) {
  char text[32];
  if (seconds < 1.0) {
    std::snprintf(text, sizeof text, "%.0f ms", 1e3 * seconds);
  } else {
    std::snprintf(text, sizeof text, "%.2f s", seconds);
  }
  return text;
}

}  // namespace

FitProgress::FitProgress(int verbose, std::FILE* stream, int epochs, int64_t batches,
                         std::string metric)
    : verbose_(verbose),
      stream_(stream),
      bar_(verbose == 1 && stream != nullptr && isatty(fileno(stream)) == 1),
      epochs_(epochs),
      batches_(batches),
      metric_(std::move(metric)) {}

void FitProgress::BeginEpoch(int epoch) {
  epoch_ = epoch;
  start_ = std::chrono::steady_clock::now();
  last_draw_ = {};
  if (bar_) DrawBar(0);
}

void FitProgress::Batch(int64_t done) {
  if (!bar_ || done == batches_) return;  // the epoch's end draws the full bar
  if (std::chrono::steady_clock::now() - last_draw_ > std::chrono::milliseconds(100)) {
    DrawBar(done);
  }
}

void FitProgress::DrawBar(int64_t done) {
  last_draw_ = std::chrono::steady_clock::now();
  const double elapsed = Seconds(last_draw_ - start_);
  const int filled = static_cast<int>(kBarWidth * done / std::max<int64_t>(batches_, 1));
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < kBarWidth) bar += '>';
  bar.resize(kBarWidth, '.');
  std::fprintf(stream_, "\rEpoch %d/%d [%s] %lld/%lld - %s", epoch_ + 1, epochs_, bar.c_str(),
               static_cast<long long>(done), static_cast<long long>(batches_),
               Duration(elapsed).c_str());
  if (done > 0) {
    const double eta = elapsed / static_cast<double>(done) * static_cast<double>(batches_ - done);
    std::fprintf(stream_, " - ETA %s", Duration(eta).c_str());
  }
  std::fputs("\033[K", stream_);  // erases what a longer line drew before
  std::fflush(stream_);
}

void FitProgress::EndEpoch(const EpochLogs& logs) {
  if (verbose_ == 0) return;
  const double elapsed = Seconds(std::chrono::steady_clock::now() - start_);
  std::fprintf(stream_, "%sEpoch %d/%d", bar_ ? "\r" : "", logs.epoch + 1, epochs_);
  if (bar_) std::fprintf(stream_, " [%s]", std::string(kBarWidth, '=').c_str());
  std::fprintf(stream_, " %lld/%lld - %s - loss: %.4f - %s: %.4f", static_cast<long long>(batches_),
               static_cast<long long>(batches_), Duration(elapsed).c_str(), logs.loss,
               metric_.c_str(), logs.metric);
  if (!std::isnan(logs.val_loss)) {
    std::fprintf(stream_, " - val_loss: %.4f - val_%s: %.4f", logs.val_loss, metric_.c_str(),
                 logs.val_metric);
  }
  if (const auto& c = logs.val_classification) {
    std::fprintf(stream_, " - val_macro_f1: %.4f", c->macro_f1);
    if (c->classes == 2) std::fprintf(stream_, " - val_roc_auc: %.4f", c->roc_auc);
  }
  if (const auto& r = logs.val_regression) std::fprintf(stream_, " - val_r2: %.4f", r->r2);
  std::fputs(bar_ ? "\033[K\n" : "\n", stream_);
  std::fflush(stream_);
}

}  // namespace fanin
