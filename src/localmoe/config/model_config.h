#pragma once
// The architecture of a model as its files describe it (config.json or GGUF
// metadata). Everything here is a fact of the checkpoint; runtime choices
// live in the YAML configuration. Filled once at load, read everywhere.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "localmoe/base/dtype.h"

namespace localmoe {

enum class ModelArch {
  kLlama,    // LlamaForCausalLM
  kMistral,  // MistralForCausalLM: Llama with an optional sliding window
  kMixtral,  // MixtralForCausalLM: Mistral with sparse MoE MLPs
  kGpt2,     // GPT2LMHeadModel (DialoGPT)
};

enum class NormKind { kRmsNorm, kLayerNorm };
enum class ActivationKind {
  kSilu,      // SwiGLU: down(silu(gate(x)) * up(x))
  kGeluTanh,  // GPT-2 "gelu_new": 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3)))
};
enum class PositionKind { kRope, kLearned };
enum class RopeScalingKind { kNone, kLinear };

struct ModelConfig {
  ModelArch arch = ModelArch::kLlama;
  std::string arch_name;  // as written in config.json "architectures"
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;  // per expert for MoE models
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;  // == num_heads without grouped-query attention
  int64_t head_dim = 0;      // usually hidden_size / num_heads
  int64_t max_position_embeddings = 0;

  NormKind norm = NormKind::kRmsNorm;
  float norm_eps = 1e-6f;
  ActivationKind activation = ActivationKind::kSilu;
  PositionKind position = PositionKind::kRope;
  double rope_theta = 10000.0;
  RopeScalingKind rope_scaling = RopeScalingKind::kNone;
  double rope_scaling_factor = 1.0;
  // Attend only to the last `sliding_window` positions (the query's own
  // included); nullopt means full causal attention.
  std::optional<int64_t> sliding_window;

  bool tie_word_embeddings = false;  // lm_head shares the embedding matrix
  bool attention_bias = false;       // q/k/v/o projections carry biases
  bool mlp_bias = false;

  // Mixture of experts (0 experts: a dense model).
  int64_t num_experts = 0;
  int64_t num_experts_per_token = 0;

  std::optional<DType> torch_dtype;  // the checkpoint's declared dtype, if any
  std::vector<int64_t> bos_token_ids;
  std::vector<int64_t> eos_token_ids;

  bool is_moe() const { return num_experts > 0; }
  int64_t q_dim() const { return num_heads * head_dim; }
  int64_t kv_dim() const { return num_kv_heads * head_dim; }
};

std::string_view model_arch_name(ModelArch arch);

}  // namespace localmoe
