// The configuration of a loss (and of any registered component): a type name and flat
// key/value parameters, as Keras's get_config() gives them. Saved in checkpoints as JSON and
// read back through the type's registered factory, which checks every key.
//
//   fanin::Config c("categorical_crossentropy");
//   c.Set("label_smoothing", 0.1);
//   std::unique_ptr<fanin::Loss> loss = fanin::MakeLoss(c);
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace fanin {

using ConfigValue = std::variant<bool, double, std::string>;

class Config {
 public:
  explicit Config(std::string type);
  const std::string& type() const { return type_; }
  // Adds or replaces `key`.
  Config& Set(const std::string& key, ConfigValue value);
  const std::vector<std::pair<std::string, ConfigValue>>& entries() const { return entries_; }

  // The value of `key`, or `fallback` when the config has none. Throws std::invalid_argument
  // naming the type, the key and both kinds when the value has another kind.
  bool GetBool(std::string_view key, bool fallback) const;
  double GetNumber(std::string_view key, double fallback) const;
  // A number that is an integer within +-2^53 (2.5 is refused, not truncated).
  int64_t GetInteger(std::string_view key, int64_t fallback) const;
  std::string GetString(std::string_view key, std::string fallback) const;
  // Throws std::invalid_argument naming the first key not in `known`, the closest known one
  // and all of them.
  void CheckKeys(const std::vector<std::string>& known) const;

  // {"type": ..., key: value, ...}, keys in the order set.
  std::string ToJson() const;
  // Throws std::invalid_argument naming what is wrong: not JSON, not an object, no string
  // "type", a value that is not a bool, number or string.
  static Config FromJson(std::string_view json);

  bool operator==(const Config&) const = default;

 private:
  std::string type_;
  std::vector<std::pair<std::string, ConfigValue>> entries_;
};

// "; did you mean \"x\"?" when a name of `valid` is within a typo of `given`, then
// " (valid: a b c)": the tail of an error about an unknown name.
std::string SuggestName(std::string_view given, const std::vector<std::string>& valid);

}  // namespace fanin
