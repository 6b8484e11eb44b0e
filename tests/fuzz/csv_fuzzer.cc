// libFuzzer target: LoadCsv must reject any file it cannot read with a
// std::invalid_argument, never crash (tools/fuzz.sh runs it). The input's first line names
// the label column; the rest is the file.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>

#include "fanin/datasets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string label = input.substr(0, newline);
  static const std::string path = "/tmp/fanin-csv-fuzz-" + std::to_string(getpid()) + ".csv";
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      << (newline == std::string::npos ? "" : input.substr(newline + 1));
  try {
    fanin::LoadCsv(path, label);
  } catch (const std::invalid_argument&) {
    // The expected outcome for malformed input.
  }
  return 0;
}
