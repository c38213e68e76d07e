// `localmoe validate --config FILE[:PROFILE]`: loads and checks a config the
// way every command that runs a model does (with the same --set and model
// flags), prints every problem (one per line) and exits 0 or 1.

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "localmoe/base/error.h"
#include "localmoe/config/cli_options.h"
#include "localmoe/config/config_diagnostic.h"
#include "localmoe/config/config_dump.h"
#include "localmoe/config/config_loader.h"
#include "localmoe/config/hardware.h"

namespace localmoe::apps {
namespace {

struct ValidateArgs {
  ConfigArgs config;
  std::string models_dir = "models";
  std::string hardware;
  bool fields = false;
  bool dump = false;
};

void run_validate(const ValidateArgs& args) {
  if (args.fields) {
    std::fputs(describe_config_fields().c_str(), stdout);
    return;
  }
  const ConfigArgs& given = args.config;
  if (given.config.empty() && given.sets.empty() && given.flags.empty()) {
    throw make_error(ErrorKind::kInvalidArgument,
                     "validate needs --config FILE[:PROFILE], --set or a model flag");
  }
  LoadOptions options;
  options.models_dir = args.models_dir;
  if (!args.hardware.empty()) {
    const HardwareSpec hw = hardware_by_id(args.hardware);
    options.device_memory_bytes = hw.memory_bytes;
    options.runtime_overhead_bytes = hw.runtime_overhead_bytes;
  }
  const std::string what = given.config.empty() ? "the configuration" : given.config;
  try {
    const LoadedConfig loaded = given.load(options);
    for (const ConfigDiagnostic& n : loaded.notices) std::printf("%s\n", n.to_string().c_str());
    if (args.dump)
      std::fputs(config_to_yaml(loaded.config, /*redact_secrets=*/true).c_str(), stdout);
    std::printf("ok: %s is valid\n", what.c_str());
  } catch (const ConfigError& e) {
    for (const ConfigDiagnostic& d : e.errors())
      std::fprintf(stderr, "error: %s\n", d.to_string().c_str());
    std::fprintf(stderr, "%s: %zu problem%s\n", what.c_str(), e.errors().size(),
                 e.errors().size() == 1 ? "" : "s");
    throw CLI::RuntimeError(1);
  }
}

}  // namespace

void add_validate_command(CLI::App& app) {
  auto args = std::make_shared<ValidateArgs>();
  CLI::App* cmd =
      app.add_subcommand("validate", "Check a configuration (every problem at once); exit 0 or 1");
  add_config_options(*cmd, args->config, model_flags());
  cmd->add_option("--models-dir", args->models_dir, "where model ids resolve")
      ->capture_default_str();
  cmd->add_option(
      "--hardware", args->hardware,
      "device whose memory applies when gpu.memory_limit_gb is 0 (l40s, a100_80gb, ..., cpu)");
  cmd->add_flag("--fields", args->fields,
                "list every configuration key with its type, default and meaning");
  cmd->add_flag("--dump", args->dump, "print the resulting configuration as YAML");
  cmd->callback([args] { run_validate(*args); });
}

}  // namespace localmoe::apps
