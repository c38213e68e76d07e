#pragma once
// A POST /v1/completions or /v1/chat/completions body read and checked into
// what a route hands the engine: the prompts as token ids, the sampling
// parameters, and the fields that shape the response (stream, usage, echo).
// Every error is Error(kInvalidArgument) (kUnsupported for a feature we do
// not serve) naming the field, so the route answers 400 with that message.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "localmoe/engine/sampling_params.h"
#include "localmoe/server/openai_sampling.h"
#include "localmoe/tokenizer/tokenizer.h"

namespace localmoe {

struct OpenAiRequest {
  OpenAiEndpoint endpoint = OpenAiEndpoint::kCompletions;
  std::string model;  // as the body names it; empty when it names none
  // One engine request per prompt: completions take a string, a list of
  // strings, a list of ids or a list of id lists; chat renders its messages
  // through the model's chat template into one.
  std::vector<std::vector<int32_t>> prompts;
  SamplingParams sampling;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  bool echo = false;           // completions: the prompt's text before each choice's
  std::string user;            // recorded, never interpreted
};

// Where the body is read against: the model's tokenizer (null for a
// directory without one, which then takes token ids only), its vocabulary
// bound for ids, and its context length for max_tokens.
struct OpenAiModelLimits {
  const Tokenizer* tokenizer = nullptr;
  int64_t vocab_size = 0;
  int64_t max_model_len = 0;
};

// `body` as parsed (ordered, so a chat template's tojson keeps the client's
// key order). A prompt plus max_tokens longer than max_model_len is refused
// with both counts, as vLLM does; chat without max_tokens gets the rest of
// the context.
OpenAiRequest read_openai_request(const nlohmann::ordered_json& body, OpenAiEndpoint endpoint,
                                  const OpenAiModelLimits& limits);

// `messages` (checked and normalized as below) rendered by the tokenizer's
// chat template and encoded; the template writes BOS and the other special
// tokens itself. For chat requests, /tokenize and the offline batch.
std::vector<int32_t> encode_chat_messages(const nlohmann::ordered_json& messages,
                                          const Tokenizer& tokenizer, bool add_generation_prompt);

// A chat message list with every content made a string: text parts joined
// by newlines, null content (an assistant turn with tool calls) as "".
// Other fields (name, tool_calls, tool_call_id) pass through to the
// template.
nlohmann::ordered_json normalize_chat_messages(const nlohmann::ordered_json& messages);

}  // namespace localmoe
