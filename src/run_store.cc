// The staging directory of a RunStore: `<out>.staging/` holds `lock` (flock'ed by the
// owner, who writes its pid there for the message of a second process), `key`, `journal`
// (one record per finished run) and `result/`, the new set that Commit renames to `out`.
#include "fanin/run_store.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "src/atomic_file.h"

namespace fanin {
namespace {

namespace fs = std::filesystem;

// Written into every committed set: a directory holding it may be replaced by the next.
constexpr const char* kMarker = ".fanin_results";

[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  throw std::runtime_error("'" + path + "': " + what);
}

[[noreturn]] void FailErrno(const std::string& path, const std::string& what) {
  Fail(path, what + ": " + std::strerror(errno));
}

std::string ReadAll(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// A directory `out` may be replaced when it is a result set: one this class committed
// (the marker), or one the studies wrote before they used it (runs.h5 beside index.html);
// or when it is empty. Anything else may be someone's files.
void CheckReplaceable(const fs::path& out) {
  std::error_code error;
  const fs::file_status status = fs::symlink_status(out, error);
  if (!fs::exists(status)) return;
  if (!fs::is_directory(status)) Fail(out, "exists and is not a directory");
  if (fs::exists(out / kMarker) ||
      (fs::exists(out / "runs.h5") && fs::exists(out / "index.html")) || fs::is_empty(out)) {
    return;
  }
  Fail(out,
       "holds files that are not a result set, which the new results would replace; "
       "choose another output directory or empty this one");
}

void Fsync(const fs::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) FailErrno(path, "cannot be opened to be synced");
  const int status = ::fsync(fd);
  ::close(fd);
  if (status != 0) FailErrno(path, "cannot be synced");
}

// Journal records: index, size, the result's bytes, then a check word. A record counts
// when it is whole and its check word matches, so a tail cut by a kill (or zeros left by
// a crash of the machine) ends the journal instead of passing for a run.
constexpr uint64_t kCheck = 0x66616e696e52554eull;  // "faninRUN"

uint64_t CheckWord(uint64_t index, uint64_t size) {
  return index ^ (size * 0x9e3779b97f4a7c15ull) ^ kCheck;
}

}  // namespace

RunStore::RunStore(const std::string& out, const std::string& key) {
  fs::path out_path = fs::path(out).lexically_normal();
  if (!out_path.has_filename()) out_path = out_path.parent_path();  // "dir/"
  if (out_path.empty()) Fail(out, "an output directory needs a name");
  CheckReplaceable(out_path);
  out_ = out_path.string();
  staging_ = out_ + ".staging";
  dir_ = staging_ + "/result";
  journal_path_ = staging_ + "/journal";
  const std::string lock_path = staging_ + "/lock";
  std::error_code error;
  fs::create_directories(staging_, error);
  if (error) Fail(staging_, "cannot be created: " + error.message());

  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) FailErrno(lock_path, "cannot be created");
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int cause = errno;
    const std::string holder = ReadAll(lock_path);
    ::close(lock_fd_);
    lock_fd_ = -1;
    if (cause != EWOULDBLOCK) {
      errno = cause;
      FailErrno(lock_path, "cannot be locked");
    }
    Fail(out_, "is being written by another process" +
                   (holder.empty() ? std::string() : " (pid " + holder + ")") + ", which holds " +
                   lock_path);
  }
  // A process that committed between our open and our flock removed the file we locked:
  // then the directory is no longer staged, and a fresh attempt would find `out` complete.
  struct stat locked {
  }, current{};
  if (::fstat(lock_fd_, &locked) != 0 || ::stat(lock_path.c_str(), &current) != 0 ||
      locked.st_ino != current.st_ino || locked.st_dev != current.st_dev) {
    ::close(lock_fd_);
    lock_fd_ = -1;
    Fail(out_, "was committed by another process while this one started; run again");
  }
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(lock_fd_, 0) != 0 || ::pwrite(lock_fd_, pid.data(), pid.size(), 0) < 0) {
    FailErrno(lock_path, "cannot be written");
  }

  // Results made under another key are not this set's: start over.
  const std::string key_path = staging_ + "/key";
  if (!fs::exists(key_path) || ReadAll(key_path) != key) {
    fs::remove(journal_path_);
    internal::WriteFileAtomically(key_path, key);
  }
  // The report files of an interrupted attempt are rewritten from the journal.
  fs::remove_all(dir_, error);
  if (error || !fs::create_directory(dir_, error)) {
    Fail(dir_, "cannot be created: " + (error ? error.message() : "it exists"));
  }

  journal_fd_ = ::open(journal_path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (journal_fd_ < 0) FailErrno(journal_path_, "cannot be opened");
  const std::string journal = ReadAll(journal_path_);
  size_t at = 0;
  while (true) {
    uint64_t header[2], check = 0;
    if (journal.size() - at < sizeof(header)) break;
    std::memcpy(header, journal.data() + at, sizeof(header));
    const uint64_t index = header[0], size = header[1];
    if (size > journal.size() - at - sizeof(header) - sizeof(check)) break;
    std::memcpy(&check, journal.data() + at + sizeof(header) + size, sizeof(check));
    if (check != CheckWord(index, size)) break;
    completed_[static_cast<int64_t>(index)] = journal.substr(at + sizeof(header), size);
    at += sizeof(header) + size + sizeof(check);
  }
  // Later records go after the last whole one, not after a torn tail.
  if (::ftruncate(journal_fd_, static_cast<off_t>(at)) != 0) {
    FailErrno(journal_path_, "cannot be truncated to its whole records");
  }
}

RunStore::~RunStore() {
  if (journal_fd_ >= 0) ::close(journal_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

void RunStore::Record(int64_t index, std::string_view result) {
  const uint64_t header[2] = {static_cast<uint64_t>(index), result.size()};
  const uint64_t check = CheckWord(header[0], header[1]);
  std::string record(reinterpret_cast<const char*>(header), sizeof(header));
  record += result;
  record.append(reinterpret_cast<const char*>(&check), sizeof(check));
  // One write() per record, repeated only for what a signal or a pipe-sized limit left;
  // the page cache keeps it through a kill of this process (a power cut may lose the
  // last runs, which the check word then drops).
  for (size_t done = 0; done < record.size();) {
    const ssize_t n = ::write(journal_fd_, record.data() + done, record.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) FailErrno(journal_path_, "cannot record run " + std::to_string(index));
    done += static_cast<size_t>(n);
  }
}

void RunStore::Commit() {
  internal::WriteFileAtomically(dir_ + "/" + kMarker, ReadAll(staging_ + "/key"));
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(dir_)) {
    if (entry.is_regular_file()) Fsync(entry.path(), O_RDONLY);
  }
  Fsync(dir_, O_RDONLY | O_DIRECTORY);
  // With a previous set, one renameat2 exchanges the two directories: `out` is never
  // missing. File systems without RENAME_EXCHANGE get two renames.
  if (fs::exists(out_)) {
    if (::renameat2(AT_FDCWD, dir_.c_str(), AT_FDCWD, out_.c_str(), RENAME_EXCHANGE) != 0) {
      if (errno != EINVAL && errno != ENOSYS) FailErrno(out_, "cannot be replaced");
      const std::string old = staging_ + "/previous";
      if (::rename(out_.c_str(), old.c_str()) != 0) FailErrno(out_, "cannot be moved aside");
      if (::rename(dir_.c_str(), out_.c_str()) != 0) FailErrno(out_, "cannot be replaced");
    }
  } else if (::rename(dir_.c_str(), out_.c_str()) != 0) {
    FailErrno(out_, "cannot be created from " + dir_);
  }
  Fsync(fs::path(out_).parent_path().empty() ? "." : fs::path(out_).parent_path(),
        O_RDONLY | O_DIRECTORY);
  std::error_code error;
  fs::remove_all(staging_, error);  // the previous set and the journal; a leftover is harmless
  ::close(journal_fd_);
  ::close(lock_fd_);
  journal_fd_ = lock_fd_ = -1;
}

}  // namespace fanin
