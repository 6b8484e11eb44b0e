// Fit's progress output (FitOptions::verbose), as Keras's fit(verbose=...) prints it.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "fanin/model.h"

namespace fanin {

// verbose 1 on a terminal: one bar per epoch, redrawn at most ten times a second as batches
// finish (their count, the elapsed time and the ETA), completed with the loss and metrics
// when the epoch ends. verbose 2, or 1 off a terminal: that completed line alone. Reads no
// loss before the epoch's end, so it adds no wait for an asynchronous backend.
class FitProgress {
 public:
  FitProgress(int verbose, std::FILE* stream, int epochs, int64_t batches, std::string metric);
  void BeginEpoch(int epoch);
  void Batch(int64_t done);  // batches finished in this epoch
  void EndEpoch(const EpochLogs& logs);

 private:
  void DrawBar(int64_t done);

  int verbose_;
  std::FILE* stream_;
  bool bar_;
  int epochs_, epoch_ = 0;
  int64_t batches_;
  std::string metric_;  // the loss's metric_name()
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace fanin
