// Durable, atomic file replacement, for outputs whose loss would cost hours (checkpoints).
#pragma once

#include <string>
#include <string_view>

namespace fanin::internal {

// Replaces `path` with `content` so that, whatever happens (a crash, a full disk, a
// power cut once the call has returned), `path` holds either its previous content or the
// new one, never a mix: writes a uniquely named temporary file in the same folder (a
// rename is atomic only within one file system), fsyncs it, renames it over `path`, then
// fsyncs the folder so that the rename itself is durable.
// A symbolic link is followed to the file it leads to, which is replaced (its folder holds
// the temporary file); the link stays a link. A replaced file keeps its permission bits; a
// new one gets 0666 less the umask, as open(2) would give. Owner, group and extra hard
// links are not kept (a rename makes a new file). Refuses, before creating anything, to
// replace what is not a regular file (a directory, device, FIFO, socket).
// Throws std::runtime_error naming `path` and the reason; the temporary file is removed on
// failure.
void WriteFileAtomically(const std::string& path, std::string_view content);

}  // namespace fanin::internal
