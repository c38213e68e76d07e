#include "localmoe/server/admin.h"

#include "localmoe/base/error.h"
#include "localmoe/server/json_fields.h"

namespace localmoe {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

const Tokenizer& tokenizer_of(const OpenAiModelLimits& limits) {
  if (limits.tokenizer == nullptr) {
    throw make_error(ErrorKind::kInvalidArgument, "this model has no tokenizer");
  }
  return *limits.tokenizer;
}

bool flag(const json& body, std::string_view name, bool fallback) {
  const json* value = json_field(body, name);
  return value == nullptr ? fallback : json_bool(name, *value);
}

}  // namespace

json models_list(std::span<const ServedModelInfo> models) {
  json data = json::array();
  for (const ServedModelInfo& m : models) {
    data.push_back({{"id", m.id},
                    {"object", "model"},
                    {"created", m.created},
                    {"owned_by", "localmoe"},
                    {"root", m.root},
                    {"parent", nullptr},
                    {"max_model_len", m.max_model_len}});
  }
  return {{"object", "list"}, {"data", std::move(data)}};
}

json tokenize_response(const ordered_json& body, const OpenAiModelLimits& limits) {
  if (!body.is_object()) throw_wrong_type("the request body", "a JSON object", json(body));
  const json plain(body);
  const Tokenizer& tokenizer = tokenizer_of(limits);
  const bool has_prompt = body.contains("prompt"), has_messages = body.contains("messages");
  if (has_prompt == has_messages) {
    throw make_error(ErrorKind::kInvalidArgument, "give exactly one of 'prompt' and 'messages'");
  }
  std::vector<int32_t> tokens;
  if (has_prompt) {
    if (!plain["prompt"].is_string()) throw_wrong_type("prompt", "a string", plain["prompt"]);
    tokens = tokenizer.encode(plain["prompt"].get<std::string>(),
                              flag(plain, "add_special_tokens", true));
  } else {
    tokens = encode_chat_messages(body["messages"], tokenizer,
                                  flag(plain, "add_generation_prompt", true));
  }
  return {{"count", tokens.size()}, {"max_model_len", limits.max_model_len}, {"tokens", tokens}};
}

json detokenize_response(const ordered_json& body, const OpenAiModelLimits& limits) {
  if (!body.is_object()) throw_wrong_type("the request body", "a JSON object", json(body));
  const json plain(body);
  const json* tokens = json_field(plain, "tokens");
  if (tokens == nullptr || !tokens->is_array()) {
    throw make_error(ErrorKind::kInvalidArgument, "'tokens' must be an array of token ids");
  }
  std::vector<int32_t> ids;
  for (const json& id : *tokens) {
    const int32_t token = json_token_id("tokens", id);
    if (limits.vocab_size > 0 && token >= limits.vocab_size) {
      throw make_error(ErrorKind::kInvalidArgument, "'tokens' holds token id ", token,
                       ", past the vocabulary of ", limits.vocab_size, " tokens");
    }
    ids.push_back(token);
  }
  return {{"prompt", tokenizer_of(limits).decode(ids)}};
}

}  // namespace localmoe
