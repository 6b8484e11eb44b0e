// A table of named entries that parts of the library fill when it loads (the backends, the
// device-side gradient reducers, the losses and layers by type name), so that the code using
// an entry includes none of its providers. The table is built on first use, so the order in
// which files initialize does not matter. Not synchronized: entries are added when the
// library loads or by a program before it builds models, not concurrently with lookups.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fanin/config.h"

namespace fanin::internal {

template <typename Entry>
class Registry {
 public:
  // Adds `name` (a second entry of the same name is ignored); returns whether it was added.
  static bool Add(std::string name, Entry entry) {
    return Table().emplace(std::move(name), std::move(entry)).second;
  }
  // The names, in order.
  static std::vector<std::string> Names() {
    std::vector<std::string> names;
    for (const auto& [name, entry] : Table()) names.push_back(name);
    return names;
  }
  // The entry named `name`, or null.
  static const Entry* Find(std::string_view name) {
    const auto& table = Table();
    const auto it = table.find(name);
    return it == table.end() ? nullptr : &it->second;
  }

 private:
  static std::map<std::string, Entry, std::less<>>& Table() {
    static std::map<std::string, Entry, std::less<>> table;
    return table;
  }
};

// The registries of configurable components (losses, layers): factories by type name.
template <typename T>
using Factory = std::function<std::unique_ptr<T>(const Config&)>;

// Adds a user's `type`; throws std::invalid_argument when it is taken or the factory empty.
template <typename T>
void RegisterFactory(std::string_view what, const std::string& type, Factory<T> factory) {
  if (!factory) throw std::invalid_argument("Register: no factory for \"" + type + "\"");
  if (!Registry<Factory<T>>::Add(type, std::move(factory))) {
    throw std::invalid_argument("Register: " + std::string(what) + " \"" + type +
                                "\" is already registered");
  }
}

// Builds config.type(); an unknown type throws std::invalid_argument naming the closest
// registered one and all of them.
template <typename T>
std::unique_ptr<T> MakeRegistered(std::string_view what, const Config& config) {
  const Factory<T>* factory = Registry<Factory<T>>::Find(config.type());
  if (factory == nullptr) {
    throw std::invalid_argument("unknown " + std::string(what) + " \"" + config.type() + "\"" +
                                SuggestName(config.type(), Registry<Factory<T>>::Names()));
  }
  return (*factory)(config);
}

}  // namespace fanin::internal
