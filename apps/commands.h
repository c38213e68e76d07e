#pragma once
// Each subcommand of `localmoe` lives in its own <name>_command.cpp and
// registers itself on the root CLI11 app. A command's callback throws
// localmoe::Error for bad input; main() prints it and exits 1.

#include <CLI/CLI.hpp>

namespace localmoe::apps {

void add_version_command(CLI::App& app);
void add_inspect_command(CLI::App& app);
void add_generate_command(CLI::App& app);
void add_perplexity_command(CLI::App& app);
void add_validate_command(CLI::App& app);
void add_advise_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);
void add_bench_command(CLI::App& app);

}  // namespace localmoe::apps
