// The backends present in this build, by name. Each backend registers itself from its own
// folder (cpu/, cuda/) when the library loads, so that the factory (src/backend_factory.cc)
// includes none of them: the core knows backends only through this table.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "fanin/backend.h"

namespace fanin::internal {

struct BackendEntry {
  std::function<std::shared_ptr<Backend>(const BackendOptions& options)> create;
  // Devices of this kind usable by this process now; 0 (never an exception) when none.
  std::function<int()> device_count;
};

// Adds `name`. Called by a namespace-scope initializer of the backend's own file; the
// table itself is built on first use, so the order in which files initialize is free.
bool RegisterBackend(std::string name, BackendEntry entry);
// The entry named `name`, or null when this build has no such backend.
const BackendEntry* FindBackend(std::string_view name);

}  // namespace fanin::internal
