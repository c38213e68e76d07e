#pragma once
// Chat templates: the `chat_template` of tokenizer_config.json rendered by
// our Jinja-subset interpreter in transformers' environment (trim_blocks,
// lstrip_blocks, loop controls, raise_exception, tojson as json.dumps), so
// the prompt matches apply_chat_template byte for byte. A model without a
// template (GPT-2 / DialoGPT) gets transformers' old default: each turn's
// content followed by the EOS token.

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "localmoe/tokenizer/jinja_ast.h"
#include "localmoe/tokenizer/tokenizer.h"

namespace localmoe {

class ChatTemplate {
 public:
  // Parses `source`; a syntax error throws Error naming "chat template" and
  // the line. `config` supplies bos_token / eos_token / unk_token / pad_token.
  ChatTemplate(const std::string& source, const TokenizerConfig& config);
  // The tokenizer's named template ("default" unless the config lists
  // several), or the EOS-joined fallback when it has none.
  static ChatTemplate for_tokenizer(const Tokenizer& tokenizer,
                                    const std::string& name = "default");

  // `messages`: [{"role": ..., "content": ...}, ...]; `extra`: more template
  // variables (tools, documents, ...) as a JSON object or null. Parse the
  // request as ordered_json: tojson prints keys in their original order, as
  // Python does. Template errors, raise_exception included, throw Error
  // with their message.
  std::string render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                     const nlohmann::ordered_json& extra = nullptr) const;

  static const char* const kDefaultTemplate;  // the EOS-joined fallback

 private:
  std::shared_ptr<const jinja::NodeList> nodes_;
  TokenizerConfig config_;
};

}  // namespace localmoe
