#include "localmoe/tokenizer/chat_template.h"

#include <nlohmann/json.hpp>

#include "localmoe/base/error.h"
#include "localmoe/tokenizer/jinja_interpreter.h"

namespace localmoe {

const char* const ChatTemplate::kDefaultTemplate =
    "{% for message in messages %}{{ message.content }}{{ eos_token }}{% endfor %}";

ChatTemplate::ChatTemplate(const std::string& source, const TokenizerConfig& config)
    : config_(config) {
  try {
    nodes_ = std::make_shared<const jinja::NodeList>(
        jinja::parse_template(source, jinja::TemplateOptions{}));
  } catch (Error& e) {
    throw e.with_context("chat template");
  }
}

ChatTemplate ChatTemplate::for_tokenizer(const Tokenizer& tokenizer, const std::string& name) {
  const auto& templates = tokenizer.config().chat_templates;
  const auto it = templates.find(name);
  if (it != templates.end()) return ChatTemplate(it->second, tokenizer.config());
  if (name != "default")
    throw make_error(ErrorKind::kNotFound, "chat template '", name, "' is not defined");
  return ChatTemplate(kDefaultTemplate, tokenizer.config());
}

std::string ChatTemplate::render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                 const nlohmann::ordered_json& extra) const {
  if (!messages.is_array())
    throw make_error(ErrorKind::kInvalidArgument, "chat template: messages must be a list");
  jinja::ValueDict context;
  auto special = [&](const char* key, const std::optional<std::string>& token) {
    context.set(key, token ? jinja::Value(*token) : jinja::Value::none());
  };
  special("bos_token", config_.bos_token);
  special("eos_token", config_.eos_token);
  special("unk_token", config_.unk_token);
  special("pad_token", config_.pad_token);
  if (extra.is_object())
    for (auto it = extra.begin(); it != extra.end(); ++it)
      context.set(it.key(), jinja::Value::from_json(it.value()));
  context.set("messages", jinja::Value::from_json(messages));
  context.set("add_generation_prompt", jinja::Value(add_generation_prompt));
  try {
    return jinja::render(*nodes_, context);
  } catch (Error& e) {
    throw e.with_context("chat template");
  }
}

}  // namespace localmoe
