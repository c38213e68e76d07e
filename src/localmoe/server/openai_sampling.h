#pragma once
// The sampling fields of an OpenAI request body (and vLLM's extensions)
// read into SamplingParams: one reader for the HTTP routes and the offline
// batch, so a field means the same everywhere. Types are checked here, each
// error naming the field; ranges are SamplingParams::validate()'s. Fields
// this reader does not know are ignored, as OpenAI's API does.

#include <cstdint>

#include <nlohmann/json.hpp>

#include "localmoe/engine/sampling_params.h"

namespace localmoe {

enum class OpenAiEndpoint {
  kCompletions,      // logprobs: integer (top alternatives); max_tokens defaults to 16
  kChatCompletions,  // logprobs: boolean, top_logprobs: integer; max_tokens unbounded by default
};

// Throws Error(kInvalidArgument) naming the field for a value of the wrong
// type. `unbounded_max_tokens` is the max_tokens of a chat request that
// sets none (the engine stops at max_model_len anyway).
SamplingParams sampling_params_from_json(const nlohmann::json& body, OpenAiEndpoint endpoint,
                                         int64_t unbounded_max_tokens);

}  // namespace localmoe
