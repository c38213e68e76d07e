#include <cstdio>

#include "commands.h"
#include "localmoe/base/cpu_features.h"

namespace localmoe::apps {

void add_version_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("version", "Print the version and the CPU features in use");
  cmd->callback(
      [] { std::printf("localmoe 0.1.0\ncpu: %s\n", cpu_features().describe().c_str()); });
}

}  // namespace localmoe::apps
