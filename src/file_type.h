// Words for a file's type in error messages, shared by the checkpoint reader and the atomic
// writer, which both refuse anything but a regular file. Header-only, so that the fuzzer
// builds (tools/fuzz.sh) need no extra source.
#pragma once

#include <sys/stat.h>

namespace fanin::internal {

// "a directory", "a FIFO", ... for the st_mode of anything but a regular file.
inline const char* FileTypeName(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a regular file";
}

}  // namespace fanin::internal
