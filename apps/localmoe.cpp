// localmoe: generate, perplexity, tokenize, inspect, validate, advise and
// version, one file per subcommand (see commands.h).

#include <cstdio>
#include <exception>

#include "commands.h"
#include "localmoe/base/error.h"
#include "localmoe/config/cli_options.h"

int main(int argc, char** argv) {
  CLI::App app{"LocalMoE: a local server for Mixture-of-Experts and dense language models",
               "localmoe"};
  app.require_subcommand(1);
  localmoe::report_parse_errors(app);
  localmoe::apps::add_version_command(app);
  localmoe::apps::add_inspect_command(app);
  localmoe::apps::add_generate_command(app);
  localmoe::apps::add_perplexity_command(app);
  localmoe::apps::add_validate_command(app);
  localmoe::apps::add_advise_command(app);
  localmoe::apps::add_tokenize_command(app);
  localmoe::apps::add_bench_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints and exits 0, a command's own exit status stays (validate
    // and advise exit 1 on a rejected input); a bad command line exits 2.
    const int status = app.exit(e);
    return status <= 1 ? status : 2;
  } catch (const localmoe::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
