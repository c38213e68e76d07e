// libFuzzer target for the configuration front end: arbitrary bytes as a
// config file (plain or profiles, with extends to an in-memory base file),
// its first line also as a `--set` override. Bad input must end in a
// ConfigError; anything else (a crash, another exception) is a bug.

#include <cstddef>
#include <cstdint>
#include <string>

#include "localmoe/config/config_loader.h"
#include "localmoe/config/config_yaml.h"
#include "localmoe/config/model_catalog.h"

namespace {

localmoe::LoadOptions fuzz_options() {
  localmoe::LoadOptions o;
  o.read_file = [](const std::filesystem::path& path) -> std::optional<std::string> {
    if (path == "base.yaml")
      return std::string("engine:\n  block_size: 32\nserver:\n  port: 9000\n");
    return std::nullopt;
  };
  o.getenv = [](const char*) { return std::optional<std::string>(); };
  o.resolve_model = [](const std::string& name) { return localmoe::find_catalog_model(name); };
  o.device_memory_bytes = int64_t{48} << 30;
  return o;
}

void load(const std::string& text, const localmoe::LoadOptions& options,
          const std::optional<std::string>& profile) {
  try {
    localmoe::load_config_text(text, "fuzz.yaml", profile, options, "");
  } catch (const localmoe::ConfigError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 1 << 16) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  localmoe::LoadOptions options = fuzz_options();
  const std::vector<std::string> profiles = localmoe::list_profiles(text);
  load(text, options,
       profiles.empty() ? std::nullopt : std::optional<std::string>(profiles.front()));
  options.overrides = {text.substr(0, text.find('\n'))};
  load("", options, std::nullopt);
  return 0;
}
