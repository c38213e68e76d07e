#include "localmoe/base/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "localmoe/base/error.h"

namespace localmoe {
namespace {

spdlog::level::level_enum to_spdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return spdlog::level::trace;
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
    case LogLevel::kOff: return spdlog::level::off;
  }
  LM_CHECK(false && "unknown LogLevel");
  return spdlog::level::off;
}

}  // namespace

void init_logging(LogLevel level) {
  static const bool kOnStderr = [] {
    spdlog::set_default_logger(spdlog::stderr_color_mt("localmoe"));
    return true;
  }();
  static_cast<void>(kOnStderr);
  spdlog::set_level(to_spdlog(level));
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
}

bool log_enabled(LogLevel level) {
  return level != LogLevel::kOff && spdlog::should_log(to_spdlog(level));
}

void log_message(LogLevel level, std::string_view message) {
  LM_CHECK(level != LogLevel::kOff);
  spdlog::log(to_spdlog(level), "{}", message);
}

}  // namespace localmoe
