#pragma once
// Hugging Face config.json -> ModelConfig, for the architectures LocalMoE
// runs: LlamaForCausalLM, MistralForCausalLM, MixtralForCausalLM and
// GPT2LMHeadModel. Unknown architectures and features we do not implement
// (rope scaling other than linear, activations other than the model's own)
// are rejected here, at load, rather than computed wrongly later.

#include <string>

#include <nlohmann/json.hpp>

#include "localmoe/config/model_config.h"

namespace localmoe {

// Parses a config.json object. `source` names it in errors (a path).
// Throws Error: kUnsupported for an unknown architecture or feature,
// kInvalidArgument for a missing key, a wrong type or an insane value; the
// context names `source` and the key.
ModelConfig parse_hf_config(const nlohmann::json& j, const std::string& source);

// Reads <model_dir>/config.json; when <model_dir>/generation_config.json
// exists, its bos_token_id / eos_token_id take precedence where present.
// Throws as parse_hf_config, plus kNotFound / kIo for unreadable files.
ModelConfig load_hf_config(const std::string& model_dir);

}  // namespace localmoe
