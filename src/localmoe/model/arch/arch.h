#pragma once
// Per-architecture knowledge: tensor names and layouts. Each function binds
// a checkpoint's tensors into the common TransformerWeights, checking every
// shape against the ModelConfig.

#include "localmoe/config/model_config.h"
#include "localmoe/model/weights.h"

namespace localmoe {

// LlamaForCausalLM, MistralForCausalLM and MixtralForCausalLM
// ("model.layers.N.self_attn.q_proj", "...block_sparse_moe.experts.E.w1", ...).
void bind_llama_weights(const ModelConfig& config, WeightBinder& binder, TransformerWeights& out);
// GPT2LMHeadModel ("h.N.attn.c_attn", Conv1D layout, optional "transformer." prefix).
void bind_gpt2_weights(const ModelConfig& config, WeightBinder& binder, TransformerWeights& out);

// Dispatches on config.arch.
void bind_weights(const ModelConfig& config, WeightBinder& binder, TransformerWeights& out);

}  // namespace localmoe
