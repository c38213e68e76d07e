#pragma once
// Bodies of the routes around generation: GET /v1/models (OpenAI's list,
// with vLLM's max_model_len), POST /tokenize and POST /detokenize (vLLM's
// request and response shapes).

#include <cstdint>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "localmoe/server/openai_request.h"

namespace localmoe {

struct ServedModelInfo {
  std::string id;       // the name requests route by
  std::string root;     // the model directory
  int64_t created = 0;  // Unix seconds it was loaded
  int64_t max_model_len = 0;
};

nlohmann::json models_list(std::span<const ServedModelInfo> models);

// {"prompt": "..."} (add_special_tokens, default true) or {"messages": [...]}
// (add_generation_prompt, default true) -> {"count", "max_model_len", "tokens"}.
nlohmann::json tokenize_response(const nlohmann::ordered_json& body,
                                 const OpenAiModelLimits& limits);

// {"tokens": [ids]} -> {"prompt": text}; ids are checked against the vocabulary.
nlohmann::json detokenize_response(const nlohmann::ordered_json& body,
                                   const OpenAiModelLimits& limits);

}  // namespace localmoe
