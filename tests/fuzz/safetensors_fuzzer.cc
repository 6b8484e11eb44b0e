// libFuzzer target: the safetensors parser must reject any bytes it cannot read with a
// std::runtime_error, never crash or read out of bounds (tools/fuzz.sh runs it).
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "src/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    fanin::safetensors::Parse(std::string_view(reinterpret_cast<const char*>(data), size),
                              "fuzz.safetensors");
  } catch (const std::runtime_error&) {
    // The expected outcome for malformed input.
  }
  return 0;
}
