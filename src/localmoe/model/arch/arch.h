#pragma once
// Per-architecture knowledge: tensor names and layouts. Each function binds
// a checkpoint's tensors into the common TransformerWeights, checking every
// shape against the ModelConfig.

#include "localmoe/config/model_config.h"
#include "localmoe/model/weights.h"

namespace localmoe {

// LlamaForCausalLM and MistralForCausalLM ("model.layers.N.self_attn.q_proj", ...).
void bind_llama_weights(const ModelConfig& config, WeightBinder& binder, TransformerWeights& out);
// GPT2LMHeadModel ("h.N.attn.c_attn", Conv1D layout, optional "transformer." prefix).
void bind_gpt2_weights(const ModelConfig& config, WeightBinder& binder, TransformerWeights& out);

// Dispatches on config.arch. Throws Error(kUnsupported) for an architecture
// whose execution is not implemented.
void bind_weights(const ModelConfig& config, WeightBinder& binder, TransformerWeights& out);

}  // namespace localmoe
