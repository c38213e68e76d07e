#include "localmoe/tokenizer/tokenizer_config.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "localmoe/base/error.h"

namespace localmoe {

namespace {

// A special token is written either as a string or as an AddedToken object
// {"content": ..., ...}; null means "none".
std::optional<std::string> token_string(const nlohmann::json& v, const char* key,
                                        const std::string& where) {
  if (!v.contains(key) || v[key].is_null()) return std::nullopt;
  const auto& t = v[key];
  if (t.is_string()) return t.get<std::string>();
  if (t.is_object() && t.contains("content") && t["content"].is_string())
    return t["content"].get<std::string>();
  throw make_error(ErrorKind::kInvalidArgument, "file '", where, "': key '", key,
                   "': expected a string or {\"content\": ...}");
}

std::optional<bool> optional_bool(const nlohmann::json& v, const char* key,
                                  const std::string& where) {
  if (!v.contains(key) || v[key].is_null()) return std::nullopt;
  if (!v[key].is_boolean())
    throw make_error(ErrorKind::kInvalidArgument, "file '", where, "': key '", key,
                     "': expected a boolean");
  return v[key].get<bool>();
}

}  // namespace

TokenizerConfig TokenizerConfig::from_json(const nlohmann::json& v, const std::string& where) {
  if (!v.is_object())
    throw make_error(ErrorKind::kInvalidArgument, "file '", where, "': expected a JSON object");
  TokenizerConfig c;
  c.bos_token = token_string(v, "bos_token", where);
  c.eos_token = token_string(v, "eos_token", where);
  c.unk_token = token_string(v, "unk_token", where);
  c.pad_token = token_string(v, "pad_token", where);
  c.add_bos_token = optional_bool(v, "add_bos_token", where);
  c.add_eos_token = optional_bool(v, "add_eos_token", where);
  c.clean_up_tokenization_spaces =
      optional_bool(v, "clean_up_tokenization_spaces", where).value_or(false);
  if (v.contains("tokenizer_class") && v["tokenizer_class"].is_string())
    c.tokenizer_class = v["tokenizer_class"];
  if (v.contains("chat_template") && !v["chat_template"].is_null()) {
    const auto& t = v["chat_template"];
    if (t.is_string()) {
      c.chat_templates["default"] = t.get<std::string>();
    } else if (t.is_array()) {
      for (const auto& entry : t) {
        if (!entry.is_object() || !entry.contains("name") || !entry.contains("template") ||
            !entry["name"].is_string() || !entry["template"].is_string())
          throw make_error(
              ErrorKind::kInvalidArgument, "file '", where,
              "': key 'chat_template': list entries need \"name\" and \"template\" strings");
        c.chat_templates[entry["name"].get<std::string>()] = entry["template"].get<std::string>();
      }
    } else {
      throw make_error(ErrorKind::kInvalidArgument, "file '", where,
                       "': key 'chat_template': expected a string or a list");
    }
  }
  return c;
}

TokenizerConfig TokenizerConfig::load(const std::string& path) {
  if (!std::filesystem::exists(path)) return {};
  std::ifstream in(path, std::ios::binary);
  if (!in) throw make_error(ErrorKind::kIo, "cannot open '", path, "'");
  nlohmann::json v;
  try {
    v = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw make_error(ErrorKind::kInvalidArgument, "file '", path, "': invalid JSON: ", e.what());
  }
  return from_json(v, path);
}

}  // namespace localmoe
