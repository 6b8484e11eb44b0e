// A table of named entries that parts of the library fill when it loads (the backends, the
// device-side gradient reducers), so that the code using an entry includes none of its
// providers. The table is built on first use, so the order in which files initialize does
// not matter.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace fanin::internal {

template <typename Entry>
class Registry {
 public:
  // Adds `name` (a second entry of the same name is ignored); returns whether it was added.
  static bool Add(std::string name, Entry entry) {
    return Table().emplace(std::move(name), std::move(entry)).second;
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

}  // namespace fanin::internal
