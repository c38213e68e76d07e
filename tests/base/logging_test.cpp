#include "localmoe/base/logging.h"

#include <string>

#include <gtest/gtest.h>

namespace localmoe {
namespace {

TEST(Logging, TheLevelFiltersAndMessagesGoToStderr) {
  init_logging(LogLevel::kWarn);
  EXPECT_FALSE(log_enabled(LogLevel::kInfo));
  EXPECT_TRUE(log_enabled(LogLevel::kWarn));
  EXPECT_TRUE(log_enabled(LogLevel::kError));
  ::testing::internal::CaptureStderr();
  log_info("hidden ", 1);
  log_message(LogLevel::kWarn, "shown");
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(err.find("hidden"), std::string::npos) << err;
  EXPECT_NE(err.find("warning"), std::string::npos) << err;
  EXPECT_NE(err.find("shown"), std::string::npos) << err;

  init_logging(LogLevel::kDebug);
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  log_debug("threads: ", 4, ", kernels: ", "generic");
  err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");
  EXPECT_NE(err.find("debug threads: 4, kernels: generic"), std::string::npos) << err;

  init_logging(LogLevel::kOff);
  EXPECT_FALSE(log_enabled(LogLevel::kError));
  EXPECT_FALSE(log_enabled(LogLevel::kOff));
  init_logging(LogLevel::kInfo);
}

}  // namespace
}  // namespace localmoe
