#include "localmoe/config/config_loader.h"

#include <cstdlib>
#include <set>

#include "localmoe/config/config_fields.h"
#include "localmoe/config/config_validate.h"
#include "localmoe/config/hardware.h"

namespace localmoe {
namespace {

namespace fs = std::filesystem;

// Keys the seeds' files carry that LocalMoE accepts without effect.
struct NoopKey {
  std::string_view key;
  std::string_view why;
};
constexpr NoopKey kNoopKeys[] = {
    {"engine.use_v2_block_manager",
     "accepted for compatibility, no effect: LocalMoE has one paged block manager"},
    {"model.hidden_size", "ignored: architecture numbers come from the model's config.json"},
    {"model.intermediate_size", "ignored: architecture numbers come from the model's config.json"},
};

std::optional<std::string> process_getenv(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

// Applies leaves to the config structs through their visit_fields lists.
class LeafApplier {
 public:
  LeafApplier(ConfigLeaves& leaves, LoadedConfig& out, std::vector<ConfigDiagnostic>& diagnostics,
              std::set<std::string>& failed)
      : leaves_(leaves), out_(out), diagnostics_(diagnostics), failed_(failed) {}

  void apply() {
    visit_sections(out_.config,
                   [&](const char* section, auto& target) { apply_section(section, target); });
    for (const NoopKey& noop : kNoopKeys) {
      auto it = leaves_.find(std::string(noop.key));
      if (it == leaves_.end()) continue;
      notice(it->second.key_location, it->first, std::string(noop.why));
      leaves_.erase(it);
    }
    if (auto it = leaves_.find("instances"); it != leaves_.end()) {
      apply_instances(it->second);
      leaves_.erase(it);
    }
    for (const auto& [key, leaf] : leaves_) report_unknown(key, leaf);
  }

 private:
  template <typename Section>
  void apply_section(const std::string& section, Section& target) {
    visit_fields(target, [&](const char* name, auto& field, const char*) {
      const std::string key = section + "." + name;
      auto it = leaves_.find(key);
      if (it == leaves_.end()) return;
      convert(key, it->second, field);
      leaves_.erase(it);
    });
  }

  template <typename Field>
  void convert(const std::string& key, const ConfigLeaf& leaf, Field& field) {
    out_.sources[key] = leaf.value_location;
    std::string problem = from_yaml(leaf.value, field);
    if (problem.empty()) return;
    failed_.insert(key);
    error(leaf.value_location, key, problem);
  }

  void apply_instances(const ConfigLeaf& leaf) {
    Config& c = out_.config;
    out_.sources["instances"] = leaf.value_location;
    if (leaf.value.IsNull()) return;
    size_t index = 0;
    for (const YAML::Node& item : leaf.value) {
      const std::string prefix = "instances[" + std::to_string(index++) + "]";
      const SourceLocation item_loc = located(leaf.value_location, item.Mark());
      if (!item.IsMap()) {
        error(item_loc, prefix,
              "expected a mapping with at least model_name, got " + describe_yaml(item));
        continue;
      }
      InstanceConfig instance;
      instance.engine = c.engine;
      std::set<std::string> written;
      for (const auto& entry : item) {
        const SourceLocation key_loc = located(leaf.value_location, entry.first.Mark());
        if (!entry.first.IsScalar()) {
          error(key_loc, prefix, "a key must be a plain word");
          continue;
        }
        const std::string name = entry.first.Scalar();
        const std::string key = prefix + "." + name;
        if (!written.insert(name).second) {
          error(key_loc, key, "duplicate key");
          continue;
        }
        bool known = false;
        visit_fields(instance, [&](const char* field_name, auto& field, const char*) {
          if (known || name != field_name) return;
          known = true;
          convert(
              key,
              ConfigLeaf{entry.second, key_loc, located(leaf.value_location, entry.second.Mark())},
              field);
        });
        if (!known) {
          std::vector<std::string> names;
          visit_fields(instance, [&](const char* field_name, auto&, const char*) {
            names.emplace_back(field_name);
          });
          error(key_loc, key, unknown_message(name, names));
        }
      }
      if (!written.count("model_name")) error(item_loc, prefix, "an instance needs a model_name");
      c.instances.push_back(std::move(instance));
    }
  }

  static SourceLocation located(const SourceLocation& file, const YAML::Mark& mark) {
    if (mark.is_null() || file.line == 0) return file;
    return SourceLocation{file.origin, mark.line + 1, mark.column + 1};
  }

  static std::string suggestion(const std::string& word, const std::vector<std::string>& names) {
    std::string near = closest_match(word, names);
    return near.empty() ? std::string() : "; did you mean '" + near + "'?";
  }

  static std::string unknown_message(const std::string& name,
                                     const std::vector<std::string>& names) {
    std::string message = "unknown key";
    if (std::string near = closest_match(name, names); !near.empty()) {
      message += "; did you mean '" + near + "'?";
    } else {
      message += " (`localmoe validate --fields` lists the keys)";
    }
    return message;
  }

  void report_unknown(const std::string& key, const ConfigLeaf& leaf) {
    const size_t dot = key.find('.');
    const std::string section = key.substr(0, dot);
    const std::string name = dot == std::string::npos ? key : key.substr(dot + 1);
    std::vector<std::string> names;
    auto collect = [&](const auto& target) {
      visit_fields(target, [&](const char* field_name, const auto&, const char*) {
        names.emplace_back(field_name);
      });
    };
    visit_sections(out_.config, [&](const char* name, const auto& target) {
      if (section == name) collect(target);
    });
    for (const NoopKey& noop : kNoopKeys) {
      const std::string_view k = noop.key;
      if (k.substr(0, k.find('.')) == section) names.emplace_back(k.substr(k.find('.') + 1));
    }
    if (names.empty()) {
      // Only `--set` can name an unknown section here; files are checked by the YAML reader.
      error(leaf.key_location, key,
            "unknown section '" + section + "'" + suggestion(section, config_section_names()));
      return;
    }
    error(leaf.key_location, key, unknown_message(name, names));
  }

  void error(SourceLocation loc, std::string key, std::string message) {
    diagnostics_.push_back({Severity::kError, std::move(loc), std::move(key), std::move(message)});
  }
  void notice(SourceLocation loc, std::string key, std::string message) {
    diagnostics_.push_back({Severity::kNotice, std::move(loc), std::move(key), std::move(message)});
  }

  ConfigLeaves& leaves_;
  LoadedConfig& out_;
  std::vector<ConfigDiagnostic>& diagnostics_;
  std::set<std::string>& failed_;
};

// "engine.max_num_seqs=64" -> a leaf at engine.max_num_seqs holding 64.
void add_override(const std::string& arg, ConfigLeaves& leaves,
                  std::vector<ConfigDiagnostic>& diagnostics) {
  const SourceLocation loc{"--set " + arg};
  const size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0) {
    diagnostics.push_back(
        {Severity::kError, loc, "", "expected KEY=VALUE, e.g. engine.max_num_seqs=64"});
    return;
  }
  std::string key = arg.substr(0, eq);
  if (key.rfind("vllm.", 0) == 0) key = "engine." + key.substr(5);
  if (key == "vllm_instances") key = "instances";
  if (key != "instances" && key.find('.') == std::string::npos) {
    diagnostics.push_back(
        {Severity::kError, loc, key, "expected SECTION.KEY, e.g. engine.max_num_seqs"});
    return;
  }
  YAML::Node value;
  try {
    value = YAML::Load(arg.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    diagnostics.push_back({Severity::kError, loc, key, "value is not valid YAML: " + e.msg});
    return;
  }
  if (!value.IsDefined()) value = YAML::Node(YAML::NodeType::Null);
  leaves[key] = ConfigLeaf{value, loc, loc};
}

// `--threads 2` -> a leaf at runtime.num_threads holding the string "2"; the
// value is not read as YAML, so `--model 'a: b'` stays a path.
void add_flag(const FlagOverride& flag, ConfigLeaves& leaves) {
  const SourceLocation loc{flag.flag};
  leaves[flag.key] = ConfigLeaf{YAML::Node(flag.value), loc, loc};
}

LoadedConfig finish(ConfigLeaves leaves, std::vector<ConfigDiagnostic> diagnostics,
                    const std::string& source, const LoadOptions& options) {
  const GetenvFn getenv = options.getenv ? options.getenv : GetenvFn(process_getenv);
  if (std::optional<std::string> key = getenv(kApiKeyEnv); key && !key->empty()) {
    const SourceLocation loc{std::string("environment ") + kApiKeyEnv};
    leaves["server.api_key"] = ConfigLeaf{YAML::Node(*key), loc, loc};
  }
  for (const std::string& arg : options.overrides) add_override(arg, leaves, diagnostics);
  for (const FlagOverride& flag : options.flags) add_flag(flag, leaves);

  LoadedConfig out;
  out.config.source = source;
  std::set<std::string> failed;
  LeafApplier(leaves, out, diagnostics, failed).apply();

  // The seeds call the context limit model.max_sequence_length; fill the
  // engine's from it when only that one is written.
  Config& c = out.config;
  if (!c.engine.max_model_len && c.model.max_sequence_length) {
    c.engine.max_model_len = c.model.max_sequence_length;
    for (InstanceConfig& instance : c.instances) {
      if (!instance.engine.max_model_len)
        instance.engine.max_model_len = c.model.max_sequence_length;
    }
  }

  ValidationContext context;
  context.sources = &out.sources;
  context.fallback = SourceLocation{source.empty() ? "defaults" : source};
  context.failed_keys = failed;
  context.read_file = options.read_file;
  const fs::path models_dir = options.models_dir;
  context.resolve_model = options.resolve_model
                              ? options.resolve_model
                              : ResolveModelFn([models_dir](const std::string& name) {
                                  return resolve_model(name, models_dir);
                                });
  context.device_memory_bytes =
      options.device_memory_bytes > 0 ? options.device_memory_bytes : local_ram_bytes();
  context.runtime_overhead_bytes = options.runtime_overhead_bytes;
  for (ConfigDiagnostic& d : validate_config(c, context)) diagnostics.push_back(std::move(d));

  std::vector<ConfigDiagnostic> errors;
  for (ConfigDiagnostic& d : diagnostics) {
    (d.severity == Severity::kError ? errors : out.notices).push_back(std::move(d));
  }
  if (!errors.empty()) throw ConfigError(std::move(errors));
  return out;
}

}  // namespace

LoadedConfig load_config_text(std::string_view text, const std::string& origin,
                              const std::optional<std::string>& profile, const LoadOptions& options,
                              const fs::path& base_dir) {
  std::vector<ConfigDiagnostic> diagnostics;
  ConfigLeaves leaves =
      read_config_leaves(text, origin, base_dir, profile, options.read_file, diagnostics);
  return finish(std::move(leaves), std::move(diagnostics), origin + (profile ? ":" + *profile : ""),
                options);
}

LoadedConfig load_config(const LoadOptions& options) {
  if (options.config_arg.empty()) return finish({}, {}, "", options);
  auto [file, profile] = split_config_arg(options.config_arg, options.read_file);
  const std::optional<std::string> text = options.read_file(file);
  if (!text) {
    throw ConfigError(
        {ConfigDiagnostic{Severity::kError, SourceLocation{file}, "",
                          "cannot read the file (missing, not a regular file, or over 16 MiB)"}});
  }
  return load_config_text(*text, file, profile, options, fs::path(file).parent_path());
}

}  // namespace localmoe
