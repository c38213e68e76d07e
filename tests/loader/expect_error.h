#pragma once
// Asserts that a call throws localmoe::Error of a given kind whose text
// names everything the user needs (file, tensor, key, value).

#include <initializer_list>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "localmoe/base/error.h"

namespace localmoe::testing {

// Returns the error text, or "" when `fn` did not throw the expected kind.
template <typename Fn>
std::string expect_error(Fn&& fn, ErrorKind kind, std::initializer_list<std::string_view> parts) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(error_kind_name(e.kind()), error_kind_name(kind)) << e.what();
    for (std::string_view part : parts) {
      EXPECT_NE(std::string_view(e.what()).find(part), std::string_view::npos)
          << "missing '" << part << "' in: " << e.what();
    }
    return e.what();
  }
  ADD_FAILURE() << "no localmoe::Error thrown";
  return "";
}

}  // namespace localmoe::testing
