#include "src/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <stdexcept>

#include "src/file_type.h"

namespace fanin::internal {
namespace {

// Linux's own limit on symbolic links followed in one path lookup.
constexpr int kMaxSymlinks = 40;

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

// The file that writing to `path` must replace: the end of its chain of symbolic links
// (which need not exist yet), so that the links stay links and point at the new content.
std::filesystem::path FollowSymlinks(const std::string& path) {
  std::filesystem::path file(path);
  for (int links = 0;; ++links) {
    struct stat info {};
    if (::lstat(file.c_str(), &info) != 0 || !S_ISLNK(info.st_mode)) return file;
    if (links == kMaxSymlinks) Fail(path, "following symbolic links", ELOOP);
    std::error_code error;
    const std::filesystem::path target = std::filesystem::read_symlink(file, error);
    if (error) Fail(path, "reading the symbolic link '" + file.string() + "'", error.value());
    file = target.is_absolute() ? target : file.parent_path() / target;
  }
}

// Creates a new, uniquely named temporary file for `target` in `folder` with permission
// bits `mode` (less the umask), as open(2) would for the target itself. mkstemp is not
// used: it creates files 0600, and the umask cannot be read without changing it.
int CreateTemporary(const std::string& path, const std::filesystem::path& folder,
                    const std::filesystem::path& target, mode_t mode, std::string& tmp) {
  static constexpr char kLetters[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::mt19937_64 random(std::random_device{}());
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string name = ".";  // append, not "." + ...: GCC 12 warns falsely on the latter
    name += target.filename().string();
    name += ".tmp.";
    uint64_t bits = random();
    for (int i = 0; i < 6; ++i, bits /= sizeof kLetters - 1) {
      name += kLetters[bits % (sizeof kLetters - 1)];
    }
    tmp = (folder / name).string();
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd >= 0) return fd;
    if (errno != EEXIST) break;
  }
  Fail(path, "cannot create a temporary file in '" + folder.string() + "'", errno);
}

}  // namespace

void WriteFileAtomically(const std::string& path, std::string_view content) {
  const std::filesystem::path target = FollowSymlinks(path);
  const std::string via = target == path ? "" : " (the target of the link '" + path + "')";
  // A new file gets what open(2) with 0666 would give (the umask applied by the kernel); a
  // replaced one keeps its mode, set before any content is written.
  mode_t create_mode = 0666;
  bool replacing = false;
  struct stat existing {};
  if (::stat(target.c_str(), &existing) == 0) {
    if (!S_ISREG(existing.st_mode)) {
      throw std::runtime_error("cannot write '" + target.string() + "'" + via + ": it is " +
                               FileTypeName(existing.st_mode) +
                               ", not a regular file, and will not be replaced");
    }
    create_mode = 0600;
    replacing = true;
  } else if (errno != ENOENT) {
    Fail(path, "stat '" + target.string() + "'", errno);
  }
  const std::filesystem::path folder =
      target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  // A unique name, so that concurrent writers of one path never share a temporary file
  // and a leftover from a crashed run is never mistaken for ours.
  std::string tmp;
  const int fd = CreateTemporary(path, folder, target, create_mode, tmp);
  const auto abandon = [&](const std::string& step) {
    const int error = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    Fail(path, step, error);
  };
  if (replacing && ::fchmod(fd, existing.st_mode & 07777) != 0) abandon("fchmod");
  if (!WriteAll(fd, content)) abandon("write");
  if (::fsync(fd) != 0) abandon("fsync");
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    Fail(path, "close", error);
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
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
