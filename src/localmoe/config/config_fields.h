#pragma once
// Conversions between YAML values and the field types used in config.h
// (bool, int64_t, double, std::string, enums, std::optional of those, and
// lists of integers). The loader, `--set`, the dump and the field listing
// all go through these, so every field type is handled in one place.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "localmoe/config/config_diagnostic.h"
#include "localmoe/config/config_enums.h"

namespace localmoe {

// "a mapping", "a list", "null" or "'text'": how a YAML value is described in messages.
std::string describe_yaml(const YAML::Node& node);

// Each returns an empty string on success, else what was expected and what was found.
std::string from_yaml(const YAML::Node& node, bool& out);
std::string from_yaml(const YAML::Node& node, int64_t& out);
std::string from_yaml(const YAML::Node& node, double& out);
std::string from_yaml(const YAML::Node& node, std::string& out);
std::string from_yaml(const YAML::Node& node, std::vector<int64_t>& out);

template <ConfigEnum E>
std::string from_yaml(const YAML::Node& node, E& out) {
  if (!node.IsScalar())
    return "expected one of " + enum_choices<E>() + ", got " + describe_yaml(node);
  const std::string& text = node.Scalar();
  if (auto value = parse_enum<E>(text)) {
    out = *value;
    return {};
  }
  if (auto reason = enum_rejection<E>(text))
    return "'" + text + "' is not supported: " + std::string(*reason);
  std::vector<std::string> names;
  for (const auto& [name, v] : EnumNames<E>::kValues) names.emplace_back(name);
  std::string message = "expected one of " + enum_choices<E>() + ", got '" + text + "'";
  if (std::string near = closest_match(text, names); !near.empty())
    message += "; did you mean '" + near + "'?";
  return message;
}

template <typename T>
std::string from_yaml(const YAML::Node& node, std::optional<T>& out) {
  if (node.IsNull()) {
    out.reset();
    return {};
  }
  T value{};
  std::string error = from_yaml(node, value);
  if (error.empty()) out = std::move(value);
  return error;
}

// A field's value as YAML text ("16", "true", "null", "fp8_e5m2", "[0, 1]").
std::string to_yaml_text(bool value);
std::string to_yaml_text(int64_t value);
std::string to_yaml_text(double value);
std::string to_yaml_text(const std::string& value);
std::string to_yaml_text(const std::vector<int64_t>& value);

template <ConfigEnum E>
std::string to_yaml_text(E value) {
  return std::string(enum_name(value));
}

template <typename T>
std::string to_yaml_text(const std::optional<T>& value) {
  return value ? to_yaml_text(*value) : std::string("null");
}

// The field's type for the listing: "bool", "int", "number", "string", "a|b|c", "[int]".
inline std::string field_type_name(const bool&) {
  return "bool";
}
inline std::string field_type_name(const int64_t&) {
  return "int";
}
inline std::string field_type_name(const double&) {
  return "number";
}
inline std::string field_type_name(const std::string&) {
  return "string";
}
inline std::string field_type_name(const std::vector<int64_t>&) {
  return "[int]";
}
template <ConfigEnum E>
std::string field_type_name(const E&) {
  return enum_choices<E>();
}
template <typename T>
std::string field_type_name(const std::optional<T>&) {
  return field_type_name(T{}) + " or null";
}

}  // namespace localmoe
