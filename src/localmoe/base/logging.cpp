#include "localmoe/base/logging.h"

#include <string>

#include "localmoe/base/error.h"

namespace localmoe {

void init_logging(std::string_view level) {
  const spdlog::level::level_enum parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") {
    throw make_error(ErrorKind::kInvalidArgument, "unknown log level '", level,
                     "' (expected trace, debug, info, warn, error or off)");
  }
  spdlog::set_level(parsed);
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
}

}  // namespace localmoe
