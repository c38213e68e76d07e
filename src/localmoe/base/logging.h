#pragma once
// Logging goes through spdlog; this sets the process-wide level and format
// once at start-up ("trace", "debug", "info", "warn", "error", "off").

#include <string_view>

#include <spdlog/spdlog.h>

namespace localmoe {

// Throws Error(kInvalidArgument) for an unknown level name.
void init_logging(std::string_view level);

}  // namespace localmoe
