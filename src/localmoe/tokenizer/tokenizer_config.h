#pragma once
// tokenizer_config.json: the settings around the tokenizer proper that
// transformers reads (special token strings, add_bos / add_eos, decode
// clean-up, the chat template).

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace localmoe {

struct TokenizerConfig {
  std::optional<std::string> bos_token;  // e.g. "<s>"; absent or null: none
  std::optional<std::string> eos_token;
  std::optional<std::string> unk_token;
  std::optional<std::string> pad_token;
  std::optional<bool> add_bos_token;  // absent: the post-processor decides
  std::optional<bool> add_eos_token;
  bool clean_up_tokenization_spaces = false;  // transformers' default when absent
  std::string tokenizer_class;                // e.g. "LlamaTokenizer"
  // Chat templates by name; a single-string "chat_template" is "default".
  std::map<std::string, std::string> chat_templates;

  // Parses the object; `where` names the file for error messages.
  static TokenizerConfig from_json(const nlohmann::json& value, const std::string& where);
  // Reads `path`; a missing file gives the defaults.
  static TokenizerConfig load(const std::string& path);
};

}  // namespace localmoe
