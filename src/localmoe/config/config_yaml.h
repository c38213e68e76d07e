#pragma once
// The YAML front end: reads a config file, or one profile of a profile file,
// follows its `extends:` chain, renames the seeds' aliases (`vllm:` ->
// `engine:`, `vllm_instances:` -> `instances:`) and flattens the result into
// leaves keyed by path ("engine.block_size", "instances"), each remembering
// the file:line:column it was written at. Later sources override earlier
// ones leaf by leaf. Typing the values is the loader's job.

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "localmoe/config/config_diagnostic.h"

namespace localmoe {

// One written value: `engine.block_size: 32` at configs/a.yaml:7:3.
struct ConfigLeaf {
  YAML::Node value;
  SourceLocation key_location;    // where the key was written (unknown-key errors)
  SourceLocation value_location;  // where the value was written (type errors)
};

using ConfigLeaves = std::map<std::string, ConfigLeaf>;

// Reads a file's text; nullopt if it cannot be read. Injected so tests and the
// fuzzer control file access.
using ReadFileFn = std::function<std::optional<std::string>(const std::filesystem::path&)>;

// Reads regular files up to 16 MiB from disk.
std::optional<std::string> read_config_file(const std::filesystem::path& path);

// The section names of the schema, canonical spelling ("gpu", "model", "engine", ...).
const std::vector<std::string>& config_section_names();

// "FILE[:PROFILE]" -> (FILE, PROFILE). A path that exists as a file is taken whole.
std::pair<std::string, std::optional<std::string>> split_config_arg(const std::string& arg,
                                                                    const ReadFileFn& read_file);

// Reads `text` (named `origin`, extends resolved relative to `base_dir`) and,
// if `profile` is set, that profile of it. Problems go to `diagnostics`.
ConfigLeaves read_config_leaves(std::string_view text, const std::string& origin,
                                const std::filesystem::path& base_dir,
                                const std::optional<std::string>& profile,
                                const ReadFileFn& read_file,
                                std::vector<ConfigDiagnostic>& diagnostics);

// The profile names of a profile file (empty for a plain config or unreadable text).
std::vector<std::string> list_profiles(std::string_view text);

}  // namespace localmoe
