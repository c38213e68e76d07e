#pragma once
// OpenAI's response bodies for /v1/completions and /v1/chat/completions,
// whole (from Completions) and as stream chunks (from one delta each), with
// usage, finish reasons and logprobs in each endpoint's own format:
// completions' {tokens, token_logprobs, top_logprobs, text_offset}, chat's
// {content: [{token, logprob, bytes, top_logprobs}]}.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "localmoe/engine/completion.h"
#include "localmoe/server/openai_request.h"
#include "localmoe/tokenizer/tokenizer.h"

namespace localmoe {

// What every body of one request carries.
struct OpenAiResponseHeader {
  std::string id;       // "cmpl-..." or "chatcmpl-...", unique per request
  int64_t created = 0;  // Unix seconds
  std::string model;
  std::string system_fingerprint;
};

// The text of token ids (echo's prompt), and of one token as it reads
// inside a text (logprobs' tokens, leading space kept); "" without a
// tokenizer. Special tokens are kept.
struct TokenText {
  const Tokenizer* tokenizer = nullptr;
  std::string text(std::span<const int32_t> ids) const;
  std::string piece(int32_t id) const;
};

// usage: prompt, completion and total tokens, and the cached prompt tokens.
nlohmann::json openai_usage(int64_t prompt_tokens, int64_t completion_tokens,
                            int64_t cached_prompt_tokens);

// One Completion per prompt of `request`; choice index prompt * n + i.
nlohmann::json completions_response(const OpenAiResponseHeader& header,
                                    const OpenAiRequest& request,
                                    const std::vector<Completion>& completions,
                                    const TokenText& text);
nlohmann::json chat_completions_response(const OpenAiResponseHeader& header,
                                         const OpenAiRequest& request, const Completion& completion,
                                         const TokenText& text);

// Stream chunks. `text` is the delta's new text; `finish` is set on the
// choice's last chunk. The chat stream starts each choice with a chunk whose
// delta holds the role (`first`).
nlohmann::json completions_chunk(const OpenAiResponseHeader& header, int64_t index,
                                 const std::string& text, const std::vector<int32_t>& token_ids,
                                 const std::vector<Logprobs>& logprobs,
                                 std::optional<FinishReason> finish, const TokenText& token_text);
nlohmann::json chat_chunk(const OpenAiResponseHeader& header, int64_t index, bool first,
                          const std::string& text, const std::vector<Logprobs>& logprobs,
                          std::optional<FinishReason> finish, const TokenText& token_text);
// The last chunk of a stream with stream_options.include_usage: no choices.
nlohmann::json usage_chunk(const OpenAiResponseHeader& header, std::string_view object,
                           const nlohmann::json& usage);

}  // namespace localmoe
