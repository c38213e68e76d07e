#pragma once
// The command line's view of the configuration. Every command that runs a
// model takes `--config FILE[:PROFILE]`, repeatable `--set KEY=VALUE`, and
// flags that each set one configuration key (`--threads 2` is
// `--set runtime.num_threads=2`). A flag's value type, default and help text
// come from its field's visit_fields entry in config.h, and its value is
// converted and validated by the config loader like a value in a file, so
// names, defaults, `--help` and validation cannot drift from the YAML schema.
// Precedence: defaults < file < environment < --set < flags.

#include <span>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "localmoe/config/config_loader.h"

namespace localmoe {

// A command-line flag that sets one configuration key.
struct ConfigFlag {
  const char* name;                  // "--threads"
  const char* key;                   // "runtime.num_threads"
  const char* value_name = nullptr;  // "N" in `--threads N`; nullptr = the field's type
};

// --threads and --kernels: the CPU backend of anything that runs kernels.
std::span<const ConfigFlag> backend_flags();

// The flags of a command that runs a model: --model, --max-num-batched-tokens,
// --max-model-len, --log-level and the backend flags.
std::span<const ConfigFlag> model_flags();

// What the command line said about the configuration; CLI11 fills it while it
// parses, `load` turns it into the run's Config.
struct ConfigArgs {
  std::string config;               // --config FILE[:PROFILE]; empty = defaults
  std::vector<std::string> sets;    // --set KEY=VALUE, in command-line order
  std::vector<FlagOverride> flags;  // the configuration flags that were given

  // The configuration these arguments describe, loaded and validated
  // (`options` supplies everything else, see LoadOptions). Throws ConfigError
  // listing every problem, each naming the file:line, `--set` or flag.
  LoadedConfig load(LoadOptions options = {}) const;
};

// Adds --config, --set and `flags` to `command`; `args` receives their values
// and must outlive the parse. Every flag must name a field (LM_CHECK).
void add_config_options(CLI::App& command, ConfigArgs& args, std::span<const ConfigFlag> flags);

// Checks for a command's own numeric options whose messages read like the
// configuration's ("--tokens: must be >= 1, got 0"); a value that is not a
// number is left to CLI11's conversion error.
CLI::Validator at_least(double min);
CLI::Validator in_range(double min, double max);

// Makes `app` (and the subcommands added after) print a parse error as one
// "error: ..." line, an unknown option or command with the closest known one
// ("unknown option '--modle'; did you mean '--model'?"), then the --help to run.
void report_parse_errors(CLI::App& app);

}  // namespace localmoe
