#include "localmoe/server/openai_request.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "localmoe/base/error.h"
#include "localmoe/server/json_fields.h"
#include "localmoe/tokenizer/chat_template.h"

namespace localmoe {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr std::array<std::string_view, 5> kRoles = {"system", "developer", "user", "assistant",
                                                    "tool"};

const Tokenizer& need_tokenizer(const OpenAiModelLimits& limits, std::string_view what) {
  if (limits.tokenizer == nullptr) {
    throw make_error(ErrorKind::kInvalidArgument, what,
                     " needs the model's tokenizer, and this model has none; send token ids");
  }
  return *limits.tokenizer;
}

std::vector<int32_t> token_ids(std::string_view name, const json& ids,
                               const OpenAiModelLimits& limits) {
  std::vector<int32_t> out;
  out.reserve(ids.size());
  for (const json& id : ids) {
    const int32_t token = json_token_id(name, id);
    if (limits.vocab_size > 0 && token >= limits.vocab_size) {
      throw make_error(ErrorKind::kInvalidArgument, "'", name, "' holds token id ", token,
                       ", past the vocabulary of ", limits.vocab_size, " tokens");
    }
    out.push_back(token);
  }
  return out;
}

std::vector<int32_t> encode_text(const std::string& text, const OpenAiModelLimits& limits) {
  return need_tokenizer(limits, "a text prompt").encode(text, /*add_special_tokens=*/true);
}

// prompt: "text" | ["text", ...] | [id, ...] | [[id, ...], ...]
std::vector<std::vector<int32_t>> read_prompts(const json& body, const OpenAiModelLimits& limits) {
  const json* prompt = json_field(body, "prompt");
  constexpr std::string_view kForms =
      "a string, an array of strings, an array of token ids or an array of token-id arrays";
  if (prompt == nullptr) {
    throw make_error(ErrorKind::kInvalidArgument, "'prompt' is required (", kForms, ")");
  }
  if (prompt->is_string()) return {encode_text(prompt->get<std::string>(), limits)};
  if (!prompt->is_array() || prompt->empty()) throw_wrong_type("prompt", kForms, *prompt);
  const json& first = prompt->front();
  std::vector<std::vector<int32_t>> prompts;
  if (first.is_number()) return {token_ids("prompt", *prompt, limits)};
  for (const json& item : *prompt) {
    if (first.is_string() && item.is_string()) {
      prompts.push_back(encode_text(item.get<std::string>(), limits));
    } else if (first.is_array() && item.is_array()) {
      prompts.push_back(token_ids("prompt", item, limits));
    } else {
      throw_wrong_type("prompt", kForms, *prompt);
    }
  }
  return prompts;
}

std::string content_text(size_t index, const ordered_json& content) {
  if (content.is_null()) return "";
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) {
    throw make_error(ErrorKind::kInvalidArgument, "'messages[", index,
                     "].content' must be a string or an array of content parts, got ",
                     json_type_name(json(content)));
  }
  std::string text;
  for (size_t p = 0; p < content.size(); ++p) {
    const ordered_json& part = content[p];
    const auto type = part.is_object() ? part.find("type") : part.end();
    if (type == part.end() || !type->is_string()) {
      throw make_error(ErrorKind::kInvalidArgument, "'messages[", index, "].content[", p,
                       "]' must be an object with a string 'type'");
    }
    if (type->get<std::string>() != "text") {
      throw make_error(ErrorKind::kUnsupported, "'messages[", index, "].content[", p,
                       "]' is of type '", type->get<std::string>(),
                       "': only text content parts are served");
    }
    const auto part_text = part.find("text");
    if (part_text == part.end() || !part_text->is_string()) {
      throw make_error(ErrorKind::kInvalidArgument, "'messages[", index, "].content[", p,
                       "].text' must be a string");
    }
    if (p > 0) text += '\n';
    text += part_text->get<std::string>();
  }
  return text;
}

std::vector<int32_t> read_chat_prompt(const ordered_json& body, const OpenAiModelLimits& limits) {
  const auto messages = body.find("messages");
  if (messages == body.end()) {
    throw make_error(ErrorKind::kInvalidArgument,
                     "'messages' must be a non-empty array of {\"role\", \"content\"} objects");
  }
  return encode_chat_messages(*messages, need_tokenizer(limits, "a chat request"),
                              /*add_generation_prompt=*/true);
}

void read_stream_fields(const json& body, OpenAiRequest& request) {
  if (const json* stream = json_field(body, "stream"))
    request.stream = json_bool("stream", *stream);
  const json* options = json_field(body, "stream_options");
  if (options == nullptr) return;
  if (!request.stream) {
    throw make_error(ErrorKind::kInvalidArgument,
                     "'stream_options' is only allowed with \"stream\": true");
  }
  if (!options->is_object()) throw_wrong_type("stream_options", "an object", *options);
  if (const json* usage = json_field(*options, "include_usage")) {
    request.include_usage = json_bool("stream_options.include_usage", *usage);
  }
}

// max_tokens within the context, as vLLM words it.
void check_context(const OpenAiRequest& request, const OpenAiModelLimits& limits) {
  if (limits.max_model_len <= 0) return;
  for (const std::vector<int32_t>& prompt : request.prompts) {
    const auto length = static_cast<int64_t>(prompt.size());
    if (length + request.sampling.max_tokens > limits.max_model_len) {
      throw make_error(ErrorKind::kInvalidArgument, "this model's maximum context length is ",
                       limits.max_model_len, " tokens; the request asks for ",
                       length + request.sampling.max_tokens, " (", length, " in the prompt, ",
                       request.sampling.max_tokens,
                       " in the completion): shorten the prompt or lower max_tokens");
    }
  }
}

}  // namespace

std::vector<int32_t> encode_chat_messages(const ordered_json& messages, const Tokenizer& tokenizer,
                                          bool add_generation_prompt) {
  if (!messages.is_array() || messages.empty()) {
    throw make_error(ErrorKind::kInvalidArgument,
                     "'messages' must be a non-empty array of {\"role\", \"content\"} objects");
  }
  const std::string rendered = ChatTemplate::for_tokenizer(tokenizer).render(
      normalize_chat_messages(messages), add_generation_prompt);
  return tokenizer.encode(rendered, /*add_special_tokens=*/false);
}

ordered_json normalize_chat_messages(const ordered_json& messages) {
  ordered_json out = ordered_json::array();
  for (size_t i = 0; i < messages.size(); ++i) {
    const ordered_json& message = messages[i];
    if (!message.is_object()) {
      throw make_error(ErrorKind::kInvalidArgument, "'messages[", i,
                       "]' must be an object with 'role' and 'content'");
    }
    const auto role = message.find("role");
    if (role == message.end() || !role->is_string() ||
        std::find(kRoles.begin(), kRoles.end(), role->get<std::string>()) == kRoles.end()) {
      throw make_error(ErrorKind::kInvalidArgument, "'messages[", i,
                       "].role' must be one of system, developer, user, assistant, tool; got ",
                       role == message.end() ? "nothing" : role->dump());
    }
    const auto content = message.find("content");
    const bool tool_calls = message.contains("tool_calls");
    if (content == message.end() && !tool_calls) {
      throw make_error(ErrorKind::kInvalidArgument, "'messages[", i, "]' has no 'content'");
    }
    ordered_json copy = message;
    copy["content"] = content == message.end() ? "" : content_text(i, *content);
    out.push_back(std::move(copy));
  }
  return out;
}

OpenAiRequest read_openai_request(const ordered_json& body, OpenAiEndpoint endpoint,
                                  const OpenAiModelLimits& limits) {
  if (!body.is_object()) throw_wrong_type("the request body", "a JSON object", json(body));
  const json plain(body);
  OpenAiRequest request;
  request.endpoint = endpoint;
  if (const json* model = json_field(plain, "model")) {
    if (!model->is_string()) throw_wrong_type("model", "a string", *model);
    request.model = model->get<std::string>();
  }
  if (const json* user = json_field(plain, "user")) {
    if (!user->is_string()) throw_wrong_type("user", "a string", *user);
    request.user = user->get<std::string>();
  }
  read_stream_fields(plain, request);
  if (endpoint == OpenAiEndpoint::kCompletions) {
    request.prompts = read_prompts(plain, limits);
    if (const json* echo = json_field(plain, "echo")) request.echo = json_bool("echo", *echo);
  } else {
    request.prompts = {read_chat_prompt(body, limits)};
  }
  // A chat request without max_tokens gets what is left of the context.
  int64_t longest = 0;
  for (const auto& prompt : request.prompts) {
    longest = std::max(longest, static_cast<int64_t>(prompt.size()));
  }
  const int64_t rest = limits.max_model_len > 0
                           ? std::max<int64_t>(1, limits.max_model_len - longest)
                           : SamplingParams{}.max_tokens;
  request.sampling = sampling_params_from_json(plain, endpoint, rest);
  // Echo with logprobs reports the prompt's tokens too.
  if (request.echo && request.sampling.logprobs.has_value() &&
      !request.sampling.prompt_logprobs.has_value()) {
    request.sampling.prompt_logprobs = request.sampling.logprobs;
  }
  request.sampling.validate(limits.vocab_size > 0 ? std::optional<int64_t>(limits.vocab_size)
                                                  : std::nullopt);
  check_context(request, limits);
  return request;
}

}  // namespace localmoe
