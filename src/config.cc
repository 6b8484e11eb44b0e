#include "fanin/config.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace fanin {
namespace {

using json = nlohmann::ordered_json;

const char* KindName(const ConfigValue& v) {
  return std::holds_alternative<bool>(v)     ? "a bool"
         : std::holds_alternative<double>(v) ? "a number"
                                             : "a string";
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitution = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      diagonal = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitution});
    }
  }
  return row[b.size()];
}

}  // namespace

Config::Config(std::string type) : type_(std::move(type)) {}

Config& Config::Set(const std::string& key, ConfigValue value) {
  for (auto& [k, v] : entries_) {
    if (k == key) {
      v = std::move(value);
      return *this;
    }
  }
  entries_.emplace_back(key, std::move(value));
  return *this;
}

namespace {

template <typename T>
T Get(const Config& c, std::string_view key, T fallback, const char* wanted) {
  for (const auto& [k, v] : c.entries()) {
    if (k != key) continue;
    if (const T* value = std::get_if<T>(&v)) return *value;
    throw std::invalid_argument(c.type() + ": \"" + std::string(key) + "\" must be " + wanted +
                                ", got " + KindName(v));
  }
  return fallback;
}

}  // namespace

bool Config::GetBool(std::string_view key, bool fallback) const {
  return Get<bool>(*this, key, fallback, "a bool");
}
double Config::GetNumber(std::string_view key, double fallback) const {
  return Get<double>(*this, key, fallback, "a number");
}
int64_t Config::GetInteger(std::string_view key, int64_t fallback) const {
  const double v = GetNumber(key, static_cast<double>(fallback));
  if (!(std::fabs(v) <= 0x1p53 && std::floor(v) == v)) {
    std::ostringstream text;
    text << type_ << ": \"" << key << "\" must be an integer, got " << v;
    throw std::invalid_argument(text.str());
  }
  return static_cast<int64_t>(v);
}
std::string Config::GetString(std::string_view key, std::string fallback) const {
  return Get<std::string>(*this, key, std::move(fallback), "a string");
}

void Config::CheckKeys(const std::vector<std::string>& known) const {
  for (const auto& [key, value] : entries_) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      throw std::invalid_argument(type_ + ": unknown parameter \"" + key + "\"" +
                                  SuggestName(key, known));
    }
  }
}

std::string Config::ToJson() const {
  json j;
  j["type"] = type_;
  for (const auto& [key, value] : entries_) {
    // Integral numbers as JSON integers ("units": 100, not 100.0).
    const double* number = std::get_if<double>(&value);
    if (number != nullptr && std::fabs(*number) <= 0x1p53 && std::floor(*number) == *number) {
      j[key] = static_cast<int64_t>(*number);
    } else {
      std::visit([&j, &key](const auto& v) { j[key] = v; }, value);
    }
  }
  return j.dump();
}

Config Config::FromJson(std::string_view text) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    throw std::invalid_argument("config: not valid JSON: " + std::string(text));
  }
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    throw std::invalid_argument("config: needs an object with a string \"type\", got " +
                                std::string(text));
  }
  Config c(j["type"].get<std::string>());
  for (const auto& [key, value] : j.items()) {
    if (key == "type") continue;
    if (value.is_boolean()) {
      c.Set(key, value.get<bool>());
    } else if (value.is_number()) {
      c.Set(key, value.get<double>());
    } else if (value.is_string()) {
      c.Set(key, value.get<std::string>());
    } else {
      throw std::invalid_argument("config " + c.type() + ": \"" + key +
                                  "\" must be a bool, number or string, got " + value.dump());
    }
  }
  return c;
}

std::string SuggestName(std::string_view given, const std::vector<std::string>& valid) {
  std::string text;
  const auto closest = std::min_element(valid.begin(), valid.end(),
                                        [given](const std::string& a, const std::string& b) {
                                          return EditDistance(given, a) < EditDistance(given, b);
                                        });
  if (closest != valid.end() &&
      EditDistance(given, *closest) <= std::max<size_t>(2, given.size() / 3)) {
    text += "; did you mean \"" + *closest + "\"?";
  }
  text += " (valid:";
  for (const std::string& name : valid) text += " " + name;
  return text + ")";
}

}  // namespace fanin
