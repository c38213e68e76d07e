#include "localmoe/server/api_key.h"

#include <gtest/gtest.h>

namespace localmoe {
namespace {

TEST(ApiKeyTest, OnlyTheExactBearerTokenMatches) {
  EXPECT_TRUE(authorization_matches("Bearer sk-local-123", "sk-local-123"));
  EXPECT_TRUE(authorization_matches("bearer sk-local-123", "sk-local-123"));
  EXPECT_FALSE(authorization_matches("Bearer sk-local-124", "sk-local-123"));
  EXPECT_FALSE(authorization_matches("Bearer sk-local-12", "sk-local-123"));
  EXPECT_FALSE(authorization_matches("Bearer sk-local-1234", "sk-local-123"));
  EXPECT_FALSE(authorization_matches("Basic sk-local-123", "sk-local-123"));
  EXPECT_FALSE(authorization_matches("sk-local-123", "sk-local-123"));
  EXPECT_FALSE(authorization_matches("", "sk-local-123"));
  EXPECT_FALSE(authorization_matches("Bearer ", "sk-local-123"));
  // A key with a NUL byte is compared as bytes, not as a C string.
  EXPECT_FALSE(
      authorization_matches(std::string_view("Bearer a\0c", 10), std::string_view("a\0b", 3)));
}

}  // namespace
}  // namespace localmoe
