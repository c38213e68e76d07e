#include "localmoe/config/config_yaml.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "localmoe/config/config.h"
#include "localmoe/config/config_fields.h"

namespace localmoe {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxExtendsDepth = 16;
constexpr std::uintmax_t kMaxConfigFileBytes = 16u << 20;

struct Alias {
  std::string_view alias;
  std::string_view canonical;
};
constexpr Alias kSectionAliases[] = {{"vllm", "engine"}, {"vllm_instances", "instances"}};

SourceLocation location_of(const std::string& origin, const YAML::Mark& mark) {
  if (mark.is_null()) return SourceLocation{origin, 0, 0};
  return SourceLocation{origin, mark.line + 1, mark.column + 1};
}

std::string canonical_section(const std::string& key) {
  for (const Alias& a : kSectionAliases) {
    if (key == a.alias) return std::string(a.canonical);
  }
  return key;
}

bool is_section_key(const std::string& key) {
  const auto& sections = config_section_names();
  return key == "extends" ||
         std::find(sections.begin(), sections.end(), canonical_section(key)) != sections.end();
}

bool is_profile_file(const YAML::Node& root) {
  if (!root.IsMap() || root.size() == 0) return false;
  for (const auto& entry : root) {
    if (entry.first.IsScalar() && is_section_key(entry.first.Scalar())) return false;
  }
  return true;
}

std::vector<std::string> profile_names(const YAML::Node& root) {
  std::vector<std::string> names;
  if (!is_profile_file(root)) return names;
  for (const auto& entry : root) {
    if (entry.first.IsScalar()) names.push_back(entry.first.Scalar());
  }
  return names;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

// Reads one text and its `extends:` chain into leaves.
class LeafReader {
 public:
  LeafReader(const ReadFileFn& read_file, std::vector<ConfigDiagnostic>& diagnostics)
      : read_file_(read_file), diagnostics_(diagnostics) {}

  void read_text(std::string_view text, const std::string& origin, const fs::path& base_dir,
                 const std::optional<std::string>& profile, ConfigLeaves& leaves) {
    const std::string id = origin + (profile ? ":" + *profile : "");
    if (std::find(stack_.begin(), stack_.end(), id) != stack_.end()) {
      error(SourceLocation{origin}, "extends", "extends cycle: " + join(stack_) + ", " + id);
      return;
    }
    if (stack_.size() >= kMaxExtendsDepth) {
      error(SourceLocation{origin}, "extends",
            "extends chain deeper than " + std::to_string(kMaxExtendsDepth));
      return;
    }
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      error(location_of(origin, e.mark), "", "YAML syntax: " + e.msg);
      return;
    }
    stack_.push_back(id);
    read_root(root, origin, base_dir, profile, leaves);
    stack_.pop_back();
  }

 private:
  void read_root(const YAML::Node& root, const std::string& origin, const fs::path& base_dir,
                 const std::optional<std::string>& profile, ConfigLeaves& leaves) {
    if (!root.IsDefined() || root.IsNull()) {
      if (profile)
        error(SourceLocation{origin}, "", "no profile '" + *profile + "': the file is empty");
      return;
    }
    if (!root.IsMap()) {
      error(location_of(origin, root.Mark()), "",
            "expected a mapping of sections or profiles, got " +
                std::string(root.IsSequence() ? "a list" : "a scalar"));
      return;
    }
    const bool profiles = is_profile_file(root);
    if (!profile) {
      if (profiles) {
        error(location_of(origin, root.Mark()), "",
              "this file holds profiles (" + join(profile_names(root)) + "); choose one with " +
                  origin + ":PROFILE");
        return;
      }
      read_document(root, origin, base_dir, YAML::Node(), "", leaves);
      return;
    }
    if (!profiles) {
      error(location_of(origin, root.Mark()), "",
            "no profile '" + *profile +
                "': the file is a plain config (its top level holds sections)");
      return;
    }
    const YAML::Node node = find_key(root, *profile);
    if (!node.IsDefined()) {
      const std::vector<std::string> names = profile_names(root);
      std::string message = "no profile '" + *profile + "'; profiles: " + join(names);
      if (std::string near = closest_match(*profile, names); !near.empty()) {
        message += "; did you mean '" + near + "'?";
      }
      error(location_of(origin, root.Mark()), "", message);
      return;
    }
    read_document(node, origin, base_dir, root, *profile, leaves);
  }

  static YAML::Node find_key(const YAML::Node& map, const std::string& key) {
    for (const auto& entry : map) {
      if (entry.first.IsScalar() && entry.first.Scalar() == key) return entry.second;
    }
    return YAML::Node(YAML::NodeType::Undefined);
  }

  // A config document: an optional `extends:` and the sections.
  void read_document(const YAML::Node& doc, const std::string& origin, const fs::path& base_dir,
                     const YAML::Node& profiles_root, const std::string& profile_name,
                     ConfigLeaves& leaves) {
    const std::string where = profile_name.empty() ? "" : profile_name + ".";
    if (doc.IsNull()) return;
    if (!doc.IsMap()) {
      error(location_of(origin, doc.Mark()), profile_name,
            "expected a mapping of sections, got " + describe_yaml(doc));
      return;
    }
    const YAML::Node extends = find_key(doc, "extends");
    if (extends.IsDefined()) read_extends(extends, origin, base_dir, profiles_root, leaves);

    std::set<std::string> seen;
    for (const auto& entry : doc) {
      const SourceLocation key_loc = location_of(origin, entry.first.Mark());
      if (!entry.first.IsScalar()) {
        error(key_loc, where, "a key must be a plain word");
        continue;
      }
      const std::string& key = entry.first.Scalar();
      if (key == "extends") continue;
      const std::string section = canonical_section(key);
      if (!seen.insert(section).second) {
        error(key_loc, where + key,
              section == key
                  ? "duplicate section"
                  : "duplicate section ('" + key + "' is an alias of '" + section + "')");
        continue;
      }
      const auto& sections = config_section_names();
      if (std::find(sections.begin(), sections.end(), section) == sections.end()) {
        std::vector<std::string> candidates = sections;
        candidates.emplace_back("extends");
        for (const Alias& a : kSectionAliases) candidates.emplace_back(a.alias);
        std::string message = "unknown section";
        if (std::string near = closest_match(key, candidates); !near.empty()) {
          message += "; did you mean '" + near + "'?";
        } else {
          message += "; sections are " + join(sections);
        }
        error(key_loc, where + key, message);
        continue;
      }
      read_section(section, entry.second, origin, key_loc, leaves);
    }
  }

  void read_extends(const YAML::Node& extends, const std::string& origin, const fs::path& base_dir,
                    const YAML::Node& profiles_root, ConfigLeaves& leaves) {
    const SourceLocation loc = location_of(origin, extends.Mark());
    if (!extends.IsScalar()) {
      error(loc, "extends",
            "expected a profile name or FILE[:PROFILE], got " + describe_yaml(extends));
      return;
    }
    const std::string& target = extends.Scalar();
    if (profiles_root.IsDefined() && profiles_root.IsMap() &&
        find_key(profiles_root, target).IsDefined()) {
      const std::string id = origin + ":" + target;
      if (std::find(stack_.begin(), stack_.end(), id) != stack_.end()) {
        error(loc, "extends", "extends cycle: " + join(stack_) + ", " + id);
        return;
      }
      if (stack_.size() >= kMaxExtendsDepth) {
        error(loc, "extends", "extends chain deeper than " + std::to_string(kMaxExtendsDepth));
        return;
      }
      stack_.push_back(id);
      read_document(find_key(profiles_root, target), origin, base_dir, profiles_root, target,
                    leaves);
      stack_.pop_back();
      return;
    }
    ReadFileFn relative = [&](const fs::path& p) { return read_file_(base_dir / p); };
    auto [file, profile] = split_config_arg(target, relative);
    const fs::path path = base_dir / file;
    const std::optional<std::string> text = read_file_(path);
    if (!text) {
      std::string message = "cannot read '" + path.string() + "'";
      if (profiles_root.IsDefined()) message += " (and no profile of that name in this file)";
      error(loc, "extends", message);
      return;
    }
    read_text(*text, path.string(), path.parent_path(), profile, leaves);
  }

  void read_section(const std::string& section, const YAML::Node& value, const std::string& origin,
                    const SourceLocation& key_loc, ConfigLeaves& leaves) {
    if (section == "instances") {
      if (!value.IsNull() && !value.IsSequence()) {
        error(location_of(origin, value.Mark()), section,
              "expected a list of instances, got " + describe_yaml(value));
        return;
      }
      leaves[section] = ConfigLeaf{value, key_loc, location_of(origin, value.Mark())};
      return;
    }
    if (value.IsNull()) return;
    if (!value.IsMap()) {
      error(location_of(origin, value.Mark()), section,
            "expected a mapping, got " + describe_yaml(value));
      return;
    }
    std::set<std::string> seen;
    for (const auto& entry : value) {
      const SourceLocation loc = location_of(origin, entry.first.Mark());
      if (!entry.first.IsScalar()) {
        error(loc, section, "a key must be a plain word");
        continue;
      }
      const std::string path = section + "." + entry.first.Scalar();
      if (!seen.insert(path).second) {
        error(loc, path, "duplicate key");
        continue;
      }
      leaves[path] = ConfigLeaf{entry.second, loc, location_of(origin, entry.second.Mark())};
    }
  }

  void error(SourceLocation loc, std::string key, std::string message) {
    diagnostics_.push_back(
        ConfigDiagnostic{Severity::kError, std::move(loc), std::move(key), std::move(message)});
  }

  const ReadFileFn& read_file_;
  std::vector<ConfigDiagnostic>& diagnostics_;
  std::vector<std::string> stack_;  // "file[:profile]" being read, outermost first
};

}  // namespace

std::optional<std::string> read_config_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::nullopt;
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec || size > kMaxConfigFileBytes) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const std::vector<std::string>& config_section_names() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    const Config defaults;
    visit_sections(defaults, [&](const char* name, const auto&) {
      names.emplace_back(name);
      if (names.back() == "engine") names.emplace_back("instances");
    });
    return names;
  }();
  return kNames;
}

std::pair<std::string, std::optional<std::string>> split_config_arg(const std::string& arg,
                                                                    const ReadFileFn& read_file) {
  const size_t colon = arg.rfind(':');
  if (colon == std::string::npos || read_file(arg)) return {arg, std::nullopt};
  const std::string profile = arg.substr(colon + 1);
  if (profile.empty() || profile.find('/') != std::string::npos) return {arg, std::nullopt};
  return {arg.substr(0, colon), profile};
}

ConfigLeaves read_config_leaves(std::string_view text, const std::string& origin,
                                const fs::path& base_dir, const std::optional<std::string>& profile,
                                const ReadFileFn& read_file,
                                std::vector<ConfigDiagnostic>& diagnostics) {
  ConfigLeaves leaves;
  LeafReader reader(read_file, diagnostics);
  reader.read_text(text, origin, base_dir, profile, leaves);
  return leaves;
}

std::vector<std::string> list_profiles(std::string_view text) {
  try {
    return profile_names(YAML::Load(std::string(text)));
  } catch (const YAML::Exception&) {
    return {};
  }
}

}  // namespace localmoe
