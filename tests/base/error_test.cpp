#include "localmoe/base/error.h"

#include <gtest/gtest.h>

namespace localmoe {
namespace {

TEST(Error, ContextReadsOutermostFirst) {
  Error e = make_error(ErrorKind::kCorrupt, "offsets [8, 4] are reversed");
  e.with_context("tensor 'w'").with_context("file 'model.safetensors'");
  EXPECT_STREQ(e.what(), "file 'model.safetensors': tensor 'w': offsets [8, 4] are reversed");
  EXPECT_EQ(e.kind(), ErrorKind::kCorrupt);
  EXPECT_EQ(error_kind_name(e.kind()), "corrupt");
}

TEST(ErrorDeathTest, CheckPrintsTheValues) {
  EXPECT_DEATH(LM_CHECK_EQ(2 + 2, 5), "2 \\+ 2 == 5 \\(4 vs 5\\)");
}

}  // namespace
}  // namespace localmoe
