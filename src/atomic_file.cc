#include "src/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace fanin::internal {
namespace {

[[noreturn]] void Fail(const std::string& path, const std::string& step, int error) {
  throw std::runtime_error("cannot write '" + path + "': " + step + ": " + std::strerror(error));
}

// Writes all of `content`, resuming after short writes and signals.
bool WriteAll(int fd, std::string_view content) {
  while (!content.empty()) {
    const ssize_t written = ::write(fd, content.data(), content.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    content.remove_prefix(static_cast<size_t>(written));
  }
  return true;
}

}  // namespace

void WriteFileAtomically(const std::string& path, std::string_view content) {
  const std::filesystem::path target(path);
  const std::filesystem::path folder =
      target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  // A unique name, so that concurrent writers of one path never share a temporary file
  // and a leftover from a crashed run is never mistaken for ours.
  std::string name = ".";  // append, not "." + ...: GCC 12 warns falsely on the latter
  name += target.filename().string();
  name += ".tmp.XXXXXX";
  std::string tmp = (folder / name).string();
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) Fail(path, "cannot create a temporary file in '" + folder.string() + "'", errno);
  const auto abandon = [&](const std::string& step) {
    const int error = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    Fail(path, step, error);
  };
  // mkstemp creates the file 0600; a checkpoint is as readable as any other output.
  if (::fchmod(fd, 0644) != 0) abandon("fchmod");
  if (!WriteAll(fd, content)) abandon("write");
  if (::fsync(fd) != 0) abandon("fsync");
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    Fail(path, "close", error);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    Fail(path, "rename", error);
  }
  // The rename lives in the folder's metadata: sync it too, or a power cut could undo it.
  const int dir_fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir_fd < 0) Fail(path, "open folder for fsync", errno);
  const int sync_result = ::fsync(dir_fd);
  const int sync_error = errno;
  ::close(dir_fd);
  if (sync_result != 0) Fail(path, "fsync folder", sync_error);
}

}  // namespace fanin::internal
