#pragma once
// Helpers for the configuration tests: in-memory config files, a model
// resolver limited to the catalog, and a search over reported problems.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "localmoe/config/config_loader.h"
#include "localmoe/config/model_catalog.h"

namespace localmoe::testing {

constexpr int64_t kGiB = int64_t{1} << 30;
constexpr int64_t kMiB = int64_t{1} << 20;

// Files by path; anything else is unreadable.
inline ReadFileFn in_memory(std::map<std::string, std::string> files) {
  return
      [files = std::move(files)](const std::filesystem::path& path) -> std::optional<std::string> {
        auto it = files.find(path.lexically_normal().string());
        if (it == files.end()) return std::nullopt;
        return it->second;
      };
}

// Options that touch neither the disk nor the environment.
inline LoadOptions hermetic_options(std::map<std::string, std::string> files = {},
                                    std::map<std::string, std::string> env = {}) {
  LoadOptions o;
  o.read_file = in_memory(std::move(files));
  o.getenv = [env = std::move(env)](const char* name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  o.resolve_model = [](const std::string& name) { return find_catalog_model(name); };
  o.device_memory_bytes = 64 * kGiB;
  return o;
}

inline LoadedConfig load_text(const std::string& text,
                              const LoadOptions& options = hermetic_options(),
                              const std::optional<std::string>& profile = std::nullopt) {
  return load_config_text(text, "test.yaml", profile, options, "");
}

// The errors of a config that must fail to load.
inline std::vector<ConfigDiagnostic> load_errors(
    const std::string& text, const LoadOptions& options = hermetic_options(),
    const std::optional<std::string>& profile = std::nullopt) {
  try {
    load_text(text, options, profile);
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    return e.errors();
  }
  ADD_FAILURE() << "expected the config to be rejected:\n" << text;
  return {};
}

// The first diagnostic about `key` whose message contains `fragment`.
inline const ConfigDiagnostic* find_diagnostic(const std::vector<ConfigDiagnostic>& diagnostics,
                                               const std::string& key,
                                               const std::string& fragment) {
  for (const ConfigDiagnostic& d : diagnostics) {
    if (d.key == key && d.message.find(fragment) != std::string::npos) return &d;
  }
  return nullptr;
}

inline std::string dump(const std::vector<ConfigDiagnostic>& diagnostics) {
  std::string out;
  for (const ConfigDiagnostic& d : diagnostics) out += d.to_string() + "\n";
  return out;
}

}  // namespace localmoe::testing
