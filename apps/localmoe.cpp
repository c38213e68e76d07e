// localmoe: serve, generate, inspect, advise, validate, ... (one file per
// subcommand, see commands.h).

#include <cstdio>
#include <exception>

#include "commands.h"
#include "localmoe/base/error.h"

int main(int argc, char** argv) {
  CLI::App app{"LocalMoE: a local server for Mixture-of-Experts and dense language models"};
  app.require_subcommand(1);
  localmoe::apps::add_version_command(app);
  localmoe::apps::add_inspect_command(app);
  localmoe::apps::add_generate_command(app);
  localmoe::apps::add_perplexity_command(app);
  localmoe::apps::add_validate_command(app);
  localmoe::apps::add_advise_command(app);
  localmoe::apps::add_tokenize_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const localmoe::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
