#include "localmoe/server/openai_response.h"

#include <span>

namespace localmoe {
namespace {

using nlohmann::json;

constexpr std::string_view kCompletionObject = "text_completion";
constexpr std::string_view kChatObject = "chat.completion";
constexpr std::string_view kChatChunkObject = "chat.completion.chunk";

json finish_json(std::optional<FinishReason> finish) {
  if (!finish.has_value()) return nullptr;
  return std::string(finish_reason_name(*finish));
}

json body_start(const OpenAiResponseHeader& header, std::string_view object) {
  return {{"id", header.id},
          {"object", object},
          {"created", header.created},
          {"model", header.model},
          {"system_fingerprint", header.system_fingerprint}};
}

// Completions' legacy format over `entries` (a null logprob for the first
// prompt token, which nothing predicts), text offsets counted from `offset`.
struct LegacyLogprobs {
  json tokens = json::array();
  json token_logprobs = json::array();
  json top_logprobs = json::array();
  json text_offset = json::array();
  int64_t offset = 0;

  void add(const TokenText& text, int32_t id, const Logprobs* logprobs) {
    const std::string token = text.piece(id);
    tokens.push_back(token);
    text_offset.push_back(offset);
    offset += static_cast<int64_t>(token.size());
    if (logprobs == nullptr) {
      token_logprobs.push_back(nullptr);
      top_logprobs.push_back(nullptr);
      return;
    }
    token_logprobs.push_back(logprobs->token.logprob);
    json top = json::object();
    for (const TokenLogprob& t : logprobs->top_logprobs()) {
      top[text.piece(t.token_id)] = t.logprob;
    }
    top_logprobs.push_back(std::move(top));
  }
  json to_json() const {
    return {{"tokens", tokens},
            {"token_logprobs", token_logprobs},
            {"top_logprobs", top_logprobs},
            {"text_offset", text_offset}};
  }
};

json token_bytes(const std::string& token) {
  json bytes = json::array();
  for (const char c : token) bytes.push_back(static_cast<int>(static_cast<unsigned char>(c)));
  return bytes;
}

json chat_logprobs(const std::vector<Logprobs>& logprobs, const TokenText& text) {
  json content = json::array();
  for (const Logprobs& l : logprobs) {
    json top = json::array();
    for (const TokenLogprob& t : l.top_logprobs()) {
      const std::string token = text.piece(t.token_id);
      top.push_back({{"token", token}, {"logprob", t.logprob}, {"bytes", token_bytes(token)}});
    }
    const std::string token = text.piece(l.token.token_id);
    content.push_back({{"token", token},
                       {"logprob", l.token.logprob},
                       {"bytes", token_bytes(token)},
                       {"top_logprobs", std::move(top)}});
  }
  return {{"content", std::move(content)}};
}

json completion_usage(const std::vector<Completion>& completions) {
  int64_t prompt = 0, completion = 0, cached = 0;
  for (const Completion& c : completions) {
    prompt += c.prompt_tokens;
    completion += c.completion_tokens;
    cached += c.cached_prompt_tokens;
  }
  return openai_usage(prompt, completion, cached);
}

}  // namespace

std::string TokenText::text(std::span<const int32_t> ids) const {
  if (tokenizer == nullptr) return "";
  DecodeOptions options;
  options.skip_special_tokens = false;
  return tokenizer->decode(ids, options);
}

std::string TokenText::piece(int32_t id) const {
  if (tokenizer == nullptr) return "";
  DecodeOptions options;
  options.continuation = true;
  return tokenizer->decode(std::span<const int32_t>(&id, 1), options);
}

json openai_usage(int64_t prompt_tokens, int64_t completion_tokens, int64_t cached_prompt_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", cached_prompt_tokens}}}};
}

json completions_response(const OpenAiResponseHeader& header, const OpenAiRequest& request,
                          const std::vector<Completion>& completions, const TokenText& text) {
  json body = body_start(header, kCompletionObject);
  json choices = json::array();
  const bool want_logprobs = request.sampling.logprobs.has_value();
  for (size_t p = 0; p < completions.size(); ++p) {
    const Completion& completion = completions[p];
    const std::vector<int32_t>& prompt = request.prompts[p];
    const std::string prompt_text = request.echo ? text.text(prompt) : "";
    for (const CompletionChoice& choice : completion.choices) {
      json logprobs = nullptr;
      if (want_logprobs) {
        LegacyLogprobs legacy;
        if (request.echo) {
          for (size_t i = 0; i < prompt.size(); ++i) {
            const bool known = i > 0 && i - 1 < completion.prompt_logprobs.size();
            legacy.add(text, prompt[i], known ? &completion.prompt_logprobs[i - 1] : nullptr);
          }
        }
        for (size_t i = 0; i < choice.token_ids.size(); ++i) {
          legacy.add(text, choice.token_ids[i],
                     i < choice.logprobs.size() ? &choice.logprobs[i] : nullptr);
        }
        logprobs = legacy.to_json();
      }
      choices.push_back(
          {{"index", static_cast<int64_t>(p) * request.sampling.n + choice.index},
           {"text", prompt_text + choice.text},
           {"logprobs", std::move(logprobs)},
           {"finish_reason", finish_json(choice.finish_reason)},
           {"stop_reason", choice.stop_string.has_value()     ? json(*choice.stop_string)
                           : choice.stop_token_id.has_value() ? json(*choice.stop_token_id)
                                                              : json(nullptr)}});
    }
  }
  body["choices"] = std::move(choices);
  body["usage"] = completion_usage(completions);
  return body;
}

json chat_completions_response(const OpenAiResponseHeader& header, const OpenAiRequest& request,
                               const Completion& completion, const TokenText& text) {
  json body = body_start(header, kChatObject);
  json choices = json::array();
  for (const CompletionChoice& choice : completion.choices) {
    choices.push_back(
        {{"index", choice.index},
         {"message", {{"role", "assistant"}, {"content", choice.text}}},
         {"logprobs", request.sampling.logprobs.has_value() ? chat_logprobs(choice.logprobs, text)
                                                            : json(nullptr)},
         {"finish_reason", finish_json(choice.finish_reason)}});
  }
  body["choices"] = std::move(choices);
  body["usage"] = completion_usage({completion});
  return body;
}

json completions_chunk(const OpenAiResponseHeader& header, int64_t index, const std::string& text,
                       const std::vector<int32_t>& token_ids, const std::vector<Logprobs>& logprobs,
                       std::optional<FinishReason> finish, const TokenText& token_text) {
  json body = body_start(header, kCompletionObject);
  json chunk_logprobs = nullptr;
  if (!logprobs.empty()) {
    LegacyLogprobs legacy;
    for (size_t i = 0; i < token_ids.size(); ++i) {
      legacy.add(token_text, token_ids[i], i < logprobs.size() ? &logprobs[i] : nullptr);
    }
    chunk_logprobs = legacy.to_json();
  }
  body["choices"] = json::array({{{"index", index},
                                  {"text", text},
                                  {"logprobs", std::move(chunk_logprobs)},
                                  {"finish_reason", finish_json(finish)}}});
  return body;
}

json chat_chunk(const OpenAiResponseHeader& header, int64_t index, bool first,
                const std::string& text, const std::vector<Logprobs>& logprobs,
                std::optional<FinishReason> finish, const TokenText& token_text) {
  json body = body_start(header, kChatChunkObject);
  json delta = json::object();
  if (first) delta["role"] = "assistant";
  if (first || !text.empty()) delta["content"] = text;
  body["choices"] = json::array(
      {{{"index", index},
        {"delta", std::move(delta)},
        {"logprobs", logprobs.empty() ? json(nullptr) : chat_logprobs(logprobs, token_text)},
        {"finish_reason", finish_json(finish)}}});
  return body;
}

json usage_chunk(const OpenAiResponseHeader& header, std::string_view object, const json& usage) {
  json body = body_start(header, object);
  body["choices"] = json::array();
  body["usage"] = usage;
  return body;
}

}  // namespace localmoe
