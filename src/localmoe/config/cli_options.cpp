#include "localmoe/config/cli_options.h"

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "localmoe/base/error.h"
#include "localmoe/config/config_diagnostic.h"
#include "localmoe/config/config_fields.h"

namespace localmoe {
namespace {

constexpr ConfigFlag kBackendFlags[] = {
    {"--threads", "runtime.num_threads", "N"},
    {"--kernels", "runtime.kernels", "NAME"},
};

constexpr ConfigFlag kModelFlags[] = {
    {"--model", "engine.model_name", "DIR"},
    {"--max-num-batched-tokens", "engine.max_num_batched_tokens", "N"},
    {"--max-num-seqs", "engine.max_num_seqs", "N"},
    {"--max-model-len", "engine.max_model_len", "N"},
    {"--log-level", "runtime.log_level", "LEVEL"},
    kBackendFlags[0],
    kBackendFlags[1],
};

// Calls fn(field, doc) for the field at `key` ("runtime.num_threads") of
// `config`; false when no section has that field.
template <typename Fn>
bool visit_field_at(const Config& config, std::string_view key, Fn&& fn) {
  bool found = false;
  visit_sections(config, [&](const char* section, const auto& target) {
    visit_fields(target, [&](const char* name, const auto& field, const char* doc) {
      if (found || key != std::string(section) + "." + name) return;
      found = true;
      fn(field, doc);
    });
  });
  return found;
}

template <typename Field>
void add_flag(CLI::App& command, ConfigArgs& args, const ConfigFlag& flag, const Field& field,
              const char* doc) {
  const std::string help = std::string(doc) + " [" + flag.key + "]";
  if constexpr (std::is_same_v<Field, bool>) {
    command.add_flag_callback(
        flag.name,
        [&args, flag] {
          args.flags.push_back({flag.key, "true", flag.name});
        },
        help);
  } else {
    CLI::Option* option = command.add_option_function<std::string>(
        flag.name,
        [&args, flag](const std::string& value) {
          args.flags.push_back({flag.key, value, flag.name});
        },
        help);
    option->type_name(flag.value_name != nullptr ? flag.value_name : field_type_name(field));
    if (const std::string text = to_yaml_text(field); text != "null") option->default_str(text);
  }
}

// 0.5 -> "0.5", 1 -> "1", 1e+09 -> "1e+09".
std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value);
  return text;
}

// The value of `input` when all of it is a number.
std::optional<double> number(const std::string& input) {
  char* end = nullptr;
  const double value = std::strtod(input.c_str(), &end);
  if (input.empty() || end != input.c_str() + input.size()) return std::nullopt;
  return value;
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& names) {
  const std::string near = closest_match(word, names);
  return near.empty() ? "" : "; did you mean '" + near + "'?";
}

// "unknown option '--bogus'; did you mean '--model'?" for the first argument
// nothing took.
std::string unknown_argument(const CLI::App& command) {
  const std::vector<std::string> left = command.remaining();
  if (left.empty()) return "unexpected arguments";
  const std::string& arg = left.front();
  if (arg.empty() || arg[0] != '-') return "unexpected argument '" + arg + "'";
  const std::string flag = arg.substr(0, arg.find('='));
  std::vector<std::string> names;
  for (const CLI::Option* option : command.get_options()) {
    for (const std::string& name : option->get_lnames()) names.push_back("--" + name);
    for (const std::string& name : option->get_snames()) names.push_back("-" + name);
  }
  return "unknown option '" + flag + "'" + did_you_mean(flag, names);
}

std::string failure_message(const CLI::App* app, const CLI::Error& e) {
  const std::vector<const CLI::App*> parsed =
      app->get_subcommands([](const CLI::App* sub) { return sub->parsed(); });
  const CLI::App* command = parsed.empty() ? app : parsed.front();
  const std::vector<std::string> left = command->remaining();
  std::string message = e.what();
  const bool takes_commands = command == app && !app->get_subcommands({}).empty();
  if (takes_commands && !left.empty() && !left.front().starts_with('-')) {
    std::vector<std::string> names;
    for (const CLI::App* sub : app->get_subcommands({})) names.push_back(sub->get_name());
    message = "unknown command '" + left.front() + "'" + did_you_mean(left.front(), names);
  } else if (!left.empty() &&
             (takes_commands || dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr)) {
    message = unknown_argument(*command);
  }
  const std::string help =
      (command == app ? app->get_name() : app->get_name() + " " + command->get_name()) + " --help";
  return "error: " + message + "\nRun '" + help + "' for the options.\n";
}

}  // namespace

std::span<const ConfigFlag> backend_flags() {
  return kBackendFlags;
}

std::span<const ConfigFlag> model_flags() {
  return kModelFlags;
}

LoadedConfig ConfigArgs::load(LoadOptions options) const {
  options.config_arg = config;
  options.overrides = sets;
  options.flags = flags;
  return load_config(options);
}

void add_config_options(CLI::App& command, ConfigArgs& args, std::span<const ConfigFlag> flags) {
  command.add_option("--config", args.config, "configuration file, or a profile of a profile file")
      ->type_name("FILE[:PROFILE]");
  command
      .add_option("--set", args.sets,
                  "set any configuration key, e.g. engine.max_num_seqs=8 (repeatable; "
                  "`localmoe validate --fields` lists the keys); flags win over --set, which "
                  "wins over --config")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  const Config defaults;
  for (const ConfigFlag& flag : flags) {
    const bool found = visit_field_at(defaults, flag.key, [&](const auto& field, const char* doc) {
      add_flag(command, args, flag, field, doc);
    });
    LM_CHECK(found && "a configuration flag names a key that is not a field");
  }
}

CLI::Validator at_least(double min) {
  return CLI::Validator(
      [min](std::string& input) -> std::string {
        const std::optional<double> value = number(input);
        if (!value || *value >= min) return {};
        return "must be >= " + number_text(min) + ", got " + input;
      },
      ">=" + number_text(min));
}

CLI::Validator in_range(double min, double max) {
  return CLI::Validator(
      [min, max](std::string& input) -> std::string {
        const std::optional<double> value = number(input);
        if (!value || (*value >= min && *value <= max)) return {};
        return "must be in [" + number_text(min) + ", " + number_text(max) + "], got " + input;
      },
      "in [" + number_text(min) + ", " + number_text(max) + "]");
}

void report_parse_errors(CLI::App& app) {
  app.failure_message(failure_message);
}

}  // namespace localmoe
