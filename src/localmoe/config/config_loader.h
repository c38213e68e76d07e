#pragma once
// Builds the one Config of a run: defaults, then the YAML file or profile
// (with its `extends:` chain), then secrets from the environment
// (LOCALMOE_API_KEY), then `--set key=value` overrides, then command-line
// flags that set one key each; then validates it.
// Every problem found on the way is collected and thrown at once as a
// ConfigError, so a user fixes a file in one pass.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "localmoe/config/config.h"
#include "localmoe/config/config_diagnostic.h"
#include "localmoe/config/config_yaml.h"
#include "localmoe/config/model_catalog.h"

namespace localmoe {

using GetenvFn = std::function<std::optional<std::string>(const char* name)>;
using ResolveModelFn = std::function<std::optional<ModelSpec>(const std::string& model_name)>;

// The environment variable whose value replaces server.api_key.
inline constexpr const char* kApiKeyEnv = "LOCALMOE_API_KEY";

// One key set by a command-line flag (config/cli_options.h): `--threads 2` is
// {"runtime.num_threads", "2", "--threads"}. The value is the flag's text as a
// plain string, converted like a value written in a file; messages name the flag.
struct FlagOverride {
  std::string key;
  std::string value;
  std::string flag;
};

// Where the loader reads from; every outside dependency can be replaced.
struct LoadOptions {
  // "FILE" or "FILE:PROFILE"; empty = built-in defaults only.
  std::string config_arg;
  // `--set` arguments, applied in order: "engine.max_num_seqs=64" (`vllm.` also accepted).
  std::vector<std::string> overrides;
  // Flags, applied in order after `overrides`.
  std::vector<FlagOverride> flags;
  // Reads environment variables; empty = the process environment.
  GetenvFn getenv;
  // Reads config files (the main one and `extends:` targets).
  ReadFileFn read_file = read_config_file;
  // Where model ids resolve (`models/<id>/config.json`).
  std::filesystem::path models_dir = "models";
  // Finds a model's architecture for the cross-field checks; empty =
  // resolve_model(name, models_dir).
  ResolveModelFn resolve_model;
  // Memory of one device when gpu.memory_limit_gb is 0; 0 = this machine's RAM.
  int64_t device_memory_bytes = 0;
  // Memory the device runtime takes per device before the engine (0 on the CPU).
  int64_t runtime_overhead_bytes = 0;
};

// A loaded, validated configuration. Treat it as immutable: pass `config` by
// const reference.
struct LoadedConfig {
  Config config;
  // Where each written key came from ("engine.block_size", "instances[0].model_name").
  std::map<std::string, SourceLocation> sources;
  // Things worth knowing that are not errors (no-op keys, KV capacity, skipped checks).
  std::vector<ConfigDiagnostic> notices;
};

// Throws ConfigError (kind kInvalidArgument) listing every problem.
LoadedConfig load_config(const LoadOptions& options);

// The same for a config given as text, named `origin` in messages; `extends:`
// paths resolve relative to `base_dir`.
LoadedConfig load_config_text(std::string_view text, const std::string& origin,
                              const std::optional<std::string>& profile, const LoadOptions& options,
                              const std::filesystem::path& base_dir = ".");

}  // namespace localmoe
