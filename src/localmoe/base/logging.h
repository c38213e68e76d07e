#pragma once
// Process-wide logging. The level and format are set once at start-up; a
// message is built from streamable parts, like make_error's, only when its
// level is enabled. spdlog does the writing behind logging.cpp, so no public
// header depends on it.

#include <sstream>
#include <string_view>

namespace localmoe {

// Message severities, and the least severe one printed (kOff prints none).
enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kOff };

// Prints messages at `level` and above to stderr (stdout is the commands'
// output), each with a timestamp and its level. Before it, the level is info.
void init_logging(LogLevel level);

// Whether a message at `level` would be printed.
bool log_enabled(LogLevel level);

// Prints one message at `level` (not kOff).
void log_message(LogLevel level, std::string_view message);

// log_info("threads: ", pool.num_threads(), ", kernels: ", name);
template <typename... Parts>
void log_at(LogLevel level, const Parts&... parts) {
  if (!log_enabled(level)) return;
  std::ostringstream out;
  (out << ... << parts);
  log_message(level, out.str());
}

template <typename... Parts>
void log_debug(const Parts&... parts) {
  log_at(LogLevel::kDebug, parts...);
}
template <typename... Parts>
void log_info(const Parts&... parts) {
  log_at(LogLevel::kInfo, parts...);
}

}  // namespace localmoe
