#include "fanin/activation.h"

#include <charconv>
#include <cmath>
#include <stdexcept>
#include <string>
#include <system_error>

namespace fanin {
namespace {

std::string_view TableName(Activation kind) {
  switch (kind) {
#define FANIN_X(tag, keras_name, ...) \
  case Activation::tag:               \
    return keras_name;
    FANIN_ACTIVATIONS(FANIN_X)
#undef FANIN_X
  }
  return "?";
}

// The shortest text that from_chars reads back as the same float (at most 15 characters).
std::string FormatAlpha(float alpha) {
  char buffer[32];
  return std::string(buffer, std::to_chars(buffer, buffer + sizeof(buffer), alpha).ptr);
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

}  // namespace

ActivationSpec ParseActivation(std::string_view name) {
  if (name.empty()) return Activation::kLinear;
  const std::string input(name);
  // "elu(0.5)": the name before the parenthesis, alpha inside.
  std::string_view base = name;
  std::string_view argument;
  const bool has_argument = name.back() == ')' && name.find('(') != std::string_view::npos;
  if (has_argument) {
    const size_t open = name.find('(');
    base = name.substr(0, open);
    argument = Trim(name.substr(open + 1, name.size() - open - 2));
  }
  ActivationSpec spec;
  bool known = false;
#define FANIN_X(tag, keras_name, alias, ...)                                 \
  if (!known && (base == keras_name || (*alias != '\0' && base == alias))) { \
    spec = Activation::tag;                                                  \
    known = true;                                                            \
  }
  FANIN_ACTIVATIONS(FANIN_X)
#undef FANIN_X
  if (!known) {
    std::string valid, aliases, with_alpha;
    const auto append = [](std::string& list, const std::string& item) {
      list += (list.empty() ? "" : ", ") + item;
    };
#define FANIN_X(tag, keras_name, alias, ...)                                         \
  append(valid, keras_name);                                                         \
  if (*alias != '\0') append(aliases, std::string(alias) + " (" + keras_name + ")"); \
  if (TakesAlpha(Activation::tag)) append(with_alpha, std::string(keras_name) + "(alpha)");
    FANIN_ACTIVATIONS(FANIN_X)
#undef FANIN_X
    throw std::invalid_argument("unknown activation '" + input + "'; valid: " + valid +
                                "; aliases: " + aliases +
                                (with_alpha.empty() ? "" : "; with a parameter: " + with_alpha));
  }
  if (!has_argument) return spec;
  if (!TakesAlpha(spec.kind)) {
    throw std::invalid_argument("activation '" + input + "': " + std::string(TableName(spec.kind)) +
                                " takes no parameter");
  }
  float alpha = 0.0f;
  const auto [end, error] =
      std::from_chars(argument.data(), argument.data() + argument.size(), alpha);
  if (argument.empty() || error != std::errc() || end != argument.data() + argument.size() ||
      !std::isfinite(alpha)) {
    throw std::invalid_argument("activation '" + input + "': alpha '" + std::string(argument) +
                                "' is not a finite number");
  }
  spec.alpha = alpha;
  return spec;
}

std::string ActivationName(const ActivationSpec& spec) {
  std::string name(TableName(spec.kind));
  if (spec.alpha == DefaultAlpha(spec.kind)) return name;
  return name + "(" + FormatAlpha(spec.alpha) + ")";
}

void CheckActivation(const ActivationSpec& spec, std::string_view where) {
  if (!std::isfinite(spec.alpha)) {
    throw std::invalid_argument(std::string(where) + ": " + std::string(TableName(spec.kind)) +
                                "'s alpha must be finite, got " + FormatAlpha(spec.alpha));
  }
  if (!TakesAlpha(spec.kind) && spec.alpha != DefaultAlpha(spec.kind)) {
    throw std::invalid_argument(std::string(where) + ": " + std::string(TableName(spec.kind)) +
                                " takes no parameter, got alpha " + FormatAlpha(spec.alpha));
  }
}

}  // namespace fanin
