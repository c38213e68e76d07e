#pragma once
// Top-k expert routing: softmax over every expert's router logit, keep the k
// most probable (ties to the lower id, as a stable sort does), and either
// renormalize the kept weights to sum to one (Mixtral) or keep them as they
// are (Qwen-MoE with norm_topk_prob false).

#include <cstdint>

#include "localmoe/kernels/kernels.h"

namespace localmoe {

struct RouterOptions {
  int64_t num_experts = 0;
  int64_t top_k = 0;
  bool renormalize = true;
};

// logits: [num_tokens, num_experts] (overwritten with probabilities).
// experts / weights: [num_tokens, top_k], highest weight first.
void route_top_k(const RouterOptions& options, float* logits, int64_t num_tokens, int32_t* experts,
                 float* weights, const kernels::Kernels& kernels);

}  // namespace localmoe
