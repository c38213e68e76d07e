#include "localmoe/config/config_fields.h"

#include <charconv>
#include <cmath>

namespace localmoe {
namespace {

std::string expected(std::string_view what, const YAML::Node& node) {
  return "expected " + std::string(what) + ", got " + describe_yaml(node);
}

}  // namespace

std::string describe_yaml(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "null";
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  std::string text = node.Scalar();
  if (text.size() > 40) text = text.substr(0, 40) + "...";
  return "'" + text + "'";
}

std::string from_yaml(const YAML::Node& node, bool& out) {
  if (!node.IsScalar()) return expected("true or false", node);
  const std::string& s = node.Scalar();
  if (s == "true" || s == "True" || s == "TRUE") {
    out = true;
  } else if (s == "false" || s == "False" || s == "FALSE") {
    out = false;
  } else {
    return expected("true or false", node);
  }
  return {};
}

std::string from_yaml(const YAML::Node& node, int64_t& out) {
  if (!node.IsScalar()) return expected("an integer", node);
  const std::string& s = node.Scalar();
  const char* first = s.data();
  const char* last = s.data() + s.size();
  if (first != last && *first == '+') ++first;
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(first, last, value);
  if (ec == std::errc::result_out_of_range)
    return "integer " + describe_yaml(node) + " is out of range";
  if (ec != std::errc() || ptr != last || first == last) return expected("an integer", node);
  out = value;
  return {};
}

std::string from_yaml(const YAML::Node& node, double& out) {
  if (!node.IsScalar()) return expected("a number", node);
  const std::string& s = node.Scalar();
  const char* first = s.data();
  const char* last = s.data() + s.size();
  if (first != last && *first == '+') ++first;
  double value = 0;
  auto [ptr, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || ptr != last || first == last || !std::isfinite(value)) {
    return expected("a finite number", node);
  }
  out = value;
  return {};
}

std::string from_yaml(const YAML::Node& node, std::string& out) {
  if (!node.IsScalar()) return expected("a string", node);
  out = node.Scalar();
  return {};
}

std::string from_yaml(const YAML::Node& node, std::vector<int64_t>& out) {
  if (node.IsNull()) {
    out.clear();
    return {};
  }
  if (!node.IsSequence()) return expected("a list of integers", node);
  std::vector<int64_t> values;
  for (const YAML::Node& item : node) {
    int64_t v = 0;
    if (!from_yaml(item, v).empty())
      return expected("a list of integers", node) + " (item " + describe_yaml(item) + ")";
    values.push_back(v);
  }
  out = std::move(values);
  return {};
}

std::string to_yaml_text(bool value) {
  return value ? "true" : "false";
}

std::string to_yaml_text(int64_t value) {
  return std::to_string(value);
}

std::string to_yaml_text(double value) {
  char buffer[64];
  auto [ptr, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  std::string text(buffer, ptr);
  // Keep it a float in YAML so it reads back as a number, not an integer.
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

std::string to_yaml_text(const std::string& value) {
  YAML::Emitter out;
  out << value;
  return out.c_str();
}

std::string to_yaml_text(const std::vector<int64_t>& value) {
  std::string out = "[";
  for (size_t i = 0; i < value.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(value[i]);
  }
  return out + "]";
}

}  // namespace localmoe
