// Configuration flags on a CLI11 command: each sets its key, loses to nothing
// but a later flag, is converted and validated by the loader (messages name the
// flag), and shows the field's type, default and help in --help.

#include "localmoe/config/cli_options.h"

#include <algorithm>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <CLI/CLI.hpp>

#include "config/config_test_util.h"

namespace localmoe {
namespace {

using testing::dump;
using testing::find_diagnostic;
using testing::hermetic_options;

// A command with the model flags, parsed from `argv` (without the program name).
class CliOptionsTest : public ::testing::Test {
 protected:
  CliOptionsTest() { add_config_options(command_, args_, model_flags()); }

  void parse(std::initializer_list<std::string> argv) {
    args_ = ConfigArgs{};
    std::vector<std::string> reversed(argv.begin(), argv.end());
    std::reverse(reversed.begin(), reversed.end());  // CLI11 takes the arguments last first
    command_.parse(reversed);
  }

  // The errors of arguments whose configuration must be rejected.
  std::vector<ConfigDiagnostic> load_errors(LoadOptions options = hermetic_options()) {
    try {
      args_.load(std::move(options));
    } catch (const ConfigError& e) {
      return e.errors();
    }
    ADD_FAILURE() << "expected the configuration to be rejected";
    return {};
  }

  CLI::App command_{"test command", "generate"};
  ConfigArgs args_;
};

TEST_F(CliOptionsTest, FlagsAndSetReachTheirKeys) {
  parse({"--model", "models/tiny", "--threads", "3", "--kernels", "generic", "--log-level", "debug",
         "--max-num-batched-tokens", "64", "--set", "engine.max_num_seqs=8", "--set",
         "moe.prefetch=false"});
  const Config config = args_.load(hermetic_options()).config;
  EXPECT_EQ(config.engine.model_name, "models/tiny");
  EXPECT_EQ(config.runtime.num_threads, 3);
  EXPECT_EQ(config.runtime.kernels, "generic");
  EXPECT_EQ(config.runtime.log_level, LogLevel::kDebug);
  EXPECT_EQ(config.engine.max_num_batched_tokens, 64);
  EXPECT_EQ(config.engine.max_num_seqs, 8);
  EXPECT_FALSE(config.moe.prefetch);
}

TEST_F(CliOptionsTest, NothingGivenIsTheDefaults) {
  parse({});
  const Config config = args_.load(hermetic_options()).config;
  const Config defaults;
  EXPECT_EQ(config.engine.model_name, defaults.engine.model_name);
  EXPECT_EQ(config.runtime.num_threads, defaults.runtime.num_threads);
  EXPECT_EQ(config.runtime.log_level, defaults.runtime.log_level);
}

TEST_F(CliOptionsTest, FlagBeatsSetWhichBeatsTheProfile) {
  const LoadOptions options = hermetic_options(
      {{"run.yaml", "fast:\n  runtime:\n    num_threads: 1\n    kernels: AVX2\n"}});
  parse({"--config", "run.yaml:fast"});
  EXPECT_EQ(args_.load(options).config.runtime.num_threads, 1);
  parse({"--config", "run.yaml:fast", "--set", "runtime.num_threads=2"});
  EXPECT_EQ(args_.load(options).config.runtime.num_threads, 2);
  parse({"--config", "run.yaml:fast", "--set", "runtime.num_threads=2", "--threads", "4"});
  const Config config = args_.load(options).config;
  EXPECT_EQ(config.runtime.num_threads, 4);
  EXPECT_EQ(config.runtime.kernels, "AVX2");
  EXPECT_EQ(config.source, "run.yaml:fast");
}

TEST_F(CliOptionsTest, MalformedValuesAreErrorsThatNameTheFlag) {
  parse({"--threads", "two", "--log-level", "loud", "--max-num-batched-tokens", "-5"});
  const std::vector<ConfigDiagnostic> errors = load_errors();
  ASSERT_EQ(errors.size(), 3u) << dump(errors);
  const ConfigDiagnostic* threads =
      find_diagnostic(errors, "runtime.num_threads", "expected an integer, got 'two'");
  ASSERT_NE(threads, nullptr) << dump(errors);
  EXPECT_EQ(threads->to_string(), "--threads: runtime.num_threads: expected an integer, got 'two'");
  const ConfigDiagnostic* level = find_diagnostic(
      errors, "runtime.log_level", "expected one of trace|debug|info|warn|error|off, got 'loud'");
  ASSERT_NE(level, nullptr) << dump(errors);
  EXPECT_EQ(level->location.origin, "--log-level");
  const ConfigDiagnostic* tokens =
      find_diagnostic(errors, "engine.max_num_batched_tokens", "must be");
  ASSERT_NE(tokens, nullptr) << dump(errors);
  EXPECT_EQ(tokens->location.origin, "--max-num-batched-tokens");
}

TEST_F(CliOptionsTest, OutOfRangeThreadsAreRejected) {
  parse({"--threads", "5000"});
  const std::vector<ConfigDiagnostic> errors = load_errors();
  EXPECT_NE(find_diagnostic(errors, "runtime.num_threads",
                            "must be in [0, 1024] (0 = one per core), got 5000"),
            nullptr)
      << dump(errors);
}

TEST_F(CliOptionsTest, AFlagValueIsTextNotYaml) {
  parse({"--model", "dir: with colon", "--kernels", "[AVX2]"});
  const Config config = args_.load(hermetic_options()).config;
  EXPECT_EQ(config.engine.model_name, "dir: with colon");
  EXPECT_EQ(config.runtime.kernels, "[AVX2]");
}

TEST_F(CliOptionsTest, AMalformedSetNamesIt) {
  parse({"--set", "runtime.num_threads"});
  const std::vector<ConfigDiagnostic> errors = load_errors();
  ASSERT_EQ(errors.size(), 1u) << dump(errors);
  EXPECT_EQ(errors[0].to_string(),
            "--set runtime.num_threads: expected KEY=VALUE, e.g. engine.max_num_seqs=64");
}

TEST_F(CliOptionsTest, SetTakesOneValueEach) {
  command_.allow_extras();
  parse({"--set", "runtime.num_threads=2", "stray"});
  EXPECT_EQ(args_.sets, std::vector<std::string>{"runtime.num_threads=2"});
  EXPECT_EQ(command_.remaining(), std::vector<std::string>{"stray"});
}

TEST_F(CliOptionsTest, HelpShowsTypeDefaultHelpAndKey) {
  const std::string help = command_.help();
  EXPECT_NE(help.find("--threads N=0 "), std::string::npos) << help;
  EXPECT_NE(help.find("threads of the compute pool; 0 = one per core [runtime.num_threads]"),
            std::string::npos)
      << help;
  EXPECT_NE(help.find("--log-level LEVEL=info "), std::string::npos) << help;
  EXPECT_NE(help.find("least severe message logged: trace|debug|info|warn|error|off"),
            std::string::npos)
      << help;
  EXPECT_NE(help.find("--model DIR=models/demo "), std::string::npos) << help;
  EXPECT_NE(help.find("--config FILE[:PROFILE]"), std::string::npos) << help;
  EXPECT_NE(help.find("--set KEY=VALUE"), std::string::npos) << help;
  for (const ConfigFlag& flag : model_flags()) {
    EXPECT_NE(help.find(std::string("[") + flag.key + "]"), std::string::npos) << flag.key;
  }
}

TEST(CliOptions, ABooleanFieldIsAFlagWithoutValue) {
  CLI::App command{"test command"};
  ConfigArgs args;
  const ConfigFlag flags[] = {{"--trust-remote-code", "engine.trust_remote_code"}};
  add_config_options(command, args, flags);
  command.parse(std::vector<std::string>{"--trust-remote-code"});
  ASSERT_EQ(args.flags.size(), 1u);
  EXPECT_EQ(args.flags[0].value, "true");
  try {
    args.load(hermetic_options());
    FAIL() << "trust_remote_code: true must be rejected";
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.errors().size(), 1u) << dump(e.errors());
    EXPECT_EQ(e.errors()[0].location.origin, "--trust-remote-code");
    EXPECT_EQ(e.errors()[0].key, "engine.trust_remote_code");
  }
}

// What `app` prints on stderr for `argv` (without the program name).
std::string parse_error_text(CLI::App& app, std::vector<std::string> argv) {
  std::reverse(argv.begin(), argv.end());
  try {
    app.parse(argv);
  } catch (const CLI::ParseError& e) {
    std::ostringstream out, err;
    app.exit(e, out, err);
    return err.str();
  }
  ADD_FAILURE() << "expected a parse error";
  return "";
}

TEST(CliOptions, ParseErrorsNameTheOptionAndTheClosestKnownOne) {
  CLI::App app{"test", "localmoe"};
  app.require_subcommand(1);
  report_parse_errors(app);
  CLI::App* generate = app.add_subcommand("generate", "test command");
  ConfigArgs args;
  add_config_options(*generate, args, model_flags());
  int64_t max_tokens = 0;
  generate->add_option("-n,--max-tokens", max_tokens, "tokens");
  const std::string hint = "\nRun 'localmoe generate --help' for the options.\n";
  EXPECT_EQ(parse_error_text(app, {"generate", "--modle", "m"}),
            "error: unknown option '--modle'; did you mean '--model'?" + hint);
  EXPECT_EQ(parse_error_text(app, {"generate", "--threds=2"}),
            "error: unknown option '--threds'; did you mean '--threads'?" + hint);
  EXPECT_EQ(parse_error_text(app, {"generate", "--bogus"}),
            "error: unknown option '--bogus'" + hint);
  EXPECT_EQ(parse_error_text(app, {"generate", "stray"}),
            "error: unexpected argument 'stray'" + hint);
  EXPECT_EQ(parse_error_text(app, {"generate", "-n", "many"}),
            "error: Could not convert: --max-tokens = many" + hint);
  EXPECT_EQ(parse_error_text(app, {"generat"}),
            "error: unknown command 'generat'; did you mean 'generate'?\nRun 'localmoe --help' "
            "for the options.\n");
  EXPECT_EQ(parse_error_text(app, {"--verbose"}),
            "error: unknown option '--verbose'\nRun 'localmoe --help' for the options.\n");
}

TEST(CliOptions, NumericChecksReadLikeTheConfigurationsMessages) {
  CLI::App app{"test", "bench"};
  report_parse_errors(app);
  int64_t tokens = 1;
  double share = 0.5;
  app.add_option("--tokens", tokens, "steps")->check(at_least(1));
  app.add_option("--share", share, "fraction")->check(in_range(0, 1));
  const std::string hint = "\nRun 'bench --help' for the options.\n";
  EXPECT_EQ(parse_error_text(app, {"--tokens", "0"}),
            "error: --tokens: must be >= 1, got 0" + hint);
  EXPECT_EQ(parse_error_text(app, {"--share", "1.5"}),
            "error: --share: must be in [0, 1], got 1.5" + hint);
  EXPECT_EQ(parse_error_text(app, {"--share", "half"}),
            "error: Could not convert: --share = half" + hint);
  app.parse(std::vector<std::string>{"0.25", "--share", "7", "--tokens"});
  EXPECT_EQ(tokens, 7);
  EXPECT_EQ(share, 0.25);
}

TEST(CliOptionsDeathTest, AFlagForAMissingKeyIsABug) {
  CLI::App command{"test command"};
  ConfigArgs args;
  const ConfigFlag flags[] = {{"--seqs", "engine.max_seqs"}};
  EXPECT_DEATH(add_config_options(command, args, flags),
               "a configuration flag names a key that is not a field");
}

}  // namespace
}  // namespace localmoe
