#include "localmoe/config/config_dump.h"

#include <algorithm>
#include <sstream>
#include <vector>

#include "localmoe/config/config_fields.h"

namespace localmoe {
namespace {

template <typename Section>
void dump_section(std::ostringstream& out, const char* name, const Section& section, bool redact) {
  out << name << ":\n";
  visit_fields(section, [&](const char* field, const auto& value, const char*) {
    std::string text = to_yaml_text(value);
    if (redact && std::string_view(field) == "api_key" && text != "null") text = "<redacted>";
    out << "  " << field << ": " << text << "\n";
  });
}

struct FieldRow {
  std::string key, type, value, doc;
};

template <typename Section>
void describe_section(std::vector<FieldRow>& rows, const std::string& prefix,
                      const Section& defaults) {
  visit_fields(defaults, [&](const char* field, const auto& value, const char* doc) {
    rows.push_back({prefix + "." + field, field_type_name(value), to_yaml_text(value), doc});
  });
}

// `instances`, then an instance's own keys: those of InstanceConfig that are
// not engine keys.
void describe_instances(std::vector<FieldRow>& rows) {
  rows.push_back(
      {"instances", "list", "[]", "models served at once; each item takes engine keys plus:"});
  std::vector<FieldRow> engine_rows, instance_rows;
  describe_section(engine_rows, "engine", EngineConfig{});
  describe_section(instance_rows, "instances[]", InstanceConfig{});
  for (const FieldRow& r : instance_rows) {
    const std::string field = r.key.substr(r.key.find('.') + 1);
    const bool engine_key =
        std::any_of(engine_rows.begin(), engine_rows.end(),
                    [&](const FieldRow& e) { return e.key == "engine." + field; });
    if (!engine_key) rows.push_back(r);
  }
}

// `instances:`, each with its own fields, then the engine fields that differ
// from `engine:`.
void dump_instances(std::ostringstream& out, const Config& config) {
  if (config.instances.empty()) return;
  out << "instances:\n";
  for (const InstanceConfig& instance : config.instances) {
    std::vector<std::pair<std::string, std::string>> own;
    if (!instance.name.empty()) own.emplace_back("name", to_yaml_text(instance.name));
    own.emplace_back("model_name", to_yaml_text(instance.engine.model_name));
    if (!instance.gpu_devices.empty())
      own.emplace_back("gpu_devices", to_yaml_text(instance.gpu_devices));
    std::vector<std::string> base;
    visit_fields(config.engine, [&](const char*, const auto& value, const char*) {
      base.push_back(to_yaml_text(value));
    });
    size_t i = 0;
    visit_fields(instance.engine, [&](const char* field, const auto& value, const char*) {
      const std::string text = to_yaml_text(value);
      if (std::string_view(field) != "model_name" && text != base[i]) own.emplace_back(field, text);
      ++i;
    });
    for (size_t k = 0; k < own.size(); ++k) {
      out << (k == 0 ? "  - " : "    ") << own[k].first << ": " << own[k].second << "\n";
    }
  }
}

}  // namespace

std::string config_to_yaml(const Config& config, bool redact_secrets) {
  std::ostringstream out;
  if (!config.source.empty()) out << "# from " << config.source << "\n";
  visit_sections(config, [&](const char* name, const auto& section) {
    dump_section(out, name, section, redact_secrets);
    if (std::string_view(name) == "engine") dump_instances(out, config);
  });
  return out.str();
}

std::string describe_config_fields() {
  std::vector<FieldRow> rows;
  const Config defaults;
  visit_sections(defaults, [&](const char* name, const auto& section) {
    describe_section(rows, name, section);
    if (std::string_view(name) == "engine") describe_instances(rows);
  });
  size_t key_width = 0, type_width = 0, value_width = 0;
  for (const FieldRow& r : rows) {
    key_width = std::max(key_width, r.key.size());
    type_width = std::max(type_width, r.type.size());
    value_width = std::max(value_width, r.value.size());
  }
  std::ostringstream out;
  for (const FieldRow& r : rows) {
    out << r.key << std::string(key_width - r.key.size() + 2, ' ') << r.type
        << std::string(type_width - r.type.size() + 2, ' ') << r.value
        << std::string(value_width - r.value.size() + 2, ' ') << r.doc << "\n";
  }
  out << "(`vllm:` is accepted for `engine:`, `vllm_instances:` for `instances:`; sizes in GiB)\n";
  return out.str();
}

}  // namespace localmoe
