// The command-line conventions of fanin's programs (the examples, the benchmarks, the study
// programs through python-free-examples/study.h), on CLI11; header-only, so only a program
// that includes it needs CLI11 (Debian's libcli11-dev). Every number is read strictly
// (base 10, the whole text, in range, finite), every error names its flag, `--help` lists
// every flag with its default, and a bad command line exits with status 2.
//
// CLI11 2.1 alone reads "010" as octal 8, wraps "-1" into an unsigned flag, saturates
// "99999999999999999999" to the type's maximum and takes "nan", "inf" and "1e39" (Inf in a
// float) as numbers; the validators here run on the text first and refuse all of those.
#pragma once

#include <CLI/CLI.hpp>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <system_error>

namespace fanin::cli {

// A base-10 whole number in [lo, hi], rewritten without leading zeros before CLI11
// converts it (which would otherwise read "010" as octal). Use with Option::transform.
template <typename T>
CLI::Validator Integer(T lo, T hi) {
  const std::string range = "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  return CLI::Validator(
      [lo, hi, range](std::string& text) -> std::string {
        T value{};
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (error != std::errc() || end != text.data() + text.size() || value < lo || value > hi) {
          return "'" + text + "' is not a whole number in " + range;
        }
        text = std::to_string(value);
        return {};
      },
      "in " + range);
}

// A finite number in (0, hi] that stays positive and finite as a T (a float turns 1e39
// into Inf and 1e-50 into 0).
template <typename T>
CLI::Validator PositiveReal(double hi) {
  std::ostringstream range;
  range << "(0, " << hi << "]";
  return CLI::Validator(
      [hi, range = range.str()](const std::string& text) -> std::string {
        double value = 0.0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        const T converted = static_cast<T>(value);
        if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(value) ||
            !(value > 0.0 && value <= hi) || !(converted > 0) || !std::isfinite(converted)) {
          return "'" + text + "' is not a finite number in " + range;
        }
        return {};
      },
      "in " + range.str());
}

// A name that `parse` accepts: its exception's message (which lists the valid names) becomes
// the error, prefixed with the flag.
template <typename Parse>
CLI::Validator NameFor(Parse parse, const std::string& description) {
  return CLI::Validator(
      [parse](const std::string& text) -> std::string {
        try {
          parse(text);
          return {};
        } catch (const std::exception& error) {
          return error.what();
        }
      },
      description);
}

// Every option shows its default in --help.
inline void ShowDefaults(CLI::App& app) { app.option_defaults()->always_capture_default(); }

// Parses the command line of `app` (constructed with the program's name). --help prints
// every flag with its default to stdout and exits 0; an error prints "PROGRAM: FLAG: what
// is wrong" to stderr and exits 2.
inline void ParseOrExit(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    std::exit(app.exit(help));
  } catch (const CLI::ParseError& error) {
    std::cerr << app.get_name() << ": ";
    app.exit(error);
    std::exit(2);
  }
}

}  // namespace fanin::cli
