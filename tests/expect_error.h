// Checks that an error is the promised kind of exception and that its message names what
// the user must fix (the shape, layer, flag, file, row or column), not only that it throws.
#pragma once

#include <gtest/gtest.h>

#include <exception>
#include <initializer_list>
#include <string>
#include <string_view>

namespace fanin::testing {

// Runs `action`, expecting it to throw `Error` whose what() contains every one of `parts`.
template <typename Error, typename Action>
void ExpectThrowsWith(Action&& action, std::initializer_list<std::string_view> parts) {
  try {
    action();
  } catch (const Error& error) {
    const std::string message = error.what();
    for (std::string_view part : parts) {
      EXPECT_NE(message.find(part), std::string::npos)
          << "message \"" << message << "\" lacks \"" << part << "\"";
    }
    return;
  } catch (const std::exception& other) {
    ADD_FAILURE() << "threw another exception type: " << other.what();
    return;
  }
  ADD_FAILURE() << "did not throw";
}

// The message of the exception `action` throws ("" when it throws none).
template <typename Action>
std::string ErrorOf(Action&& action) {
  try {
    action();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace fanin::testing

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "in: " << (text)
