// Atomic file output: the studies rewrite their figures and report on every run, and a
// browser or a concurrent reader must never see a truncated file.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>

#include "internal.h"

namespace fanin::plot::internal {

void WriteFileAtomically(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  const auto fail = [&](const std::string& reason) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw std::runtime_error("fanin::plot: cannot write '" + path + "': " + reason);
  };
  {
    std::ofstream file(tmp, std::ios::binary | std::ios::trunc);
    if (!file) fail(std::strerror(errno));
    file.write(content.data(), static_cast<std::streamsize>(content.size()));
    file.close();
    if (!file) fail("write to '" + tmp + "' failed");
  }
  std::error_code error;
  std::filesystem::rename(tmp, path, error);
  if (error) fail(error.message());
}

}  // namespace fanin::plot::internal
