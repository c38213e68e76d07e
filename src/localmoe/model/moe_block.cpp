#include "localmoe/model/moe_block.h"

#include <algorithm>
#include <cstring>

#include "localmoe/kernels/kernels.h"

namespace localmoe {

MoeBlock::MoeBlock(const ModelConfig& config)
    : hidden_(config.hidden_size),
      router_{config.num_experts, config.num_experts_per_token, /*renormalize=*/true},
      expert_mlp_(config) {}

int64_t MoeBlock::workspace_floats(const ModelConfig& c, int64_t max_tokens) {
  const int64_t routed = max_tokens * c.num_experts_per_token;
  return max_tokens * c.num_experts        // router logits, then probabilities
         + 3 * routed                      // expert ids, weights, rows grouped by expert
         + (c.num_experts + 1)             // group offsets
         + 2 * max_tokens * c.hidden_size  // one expert's gathered input and output
         + Mlp::workspace_floats(c, max_tokens);
}

void MoeBlock::forward(const MoeWeights& w, const float* x, int64_t n, float* workspace, float* out,
                       const kernels::Kernels& k, ThreadPool& pool, RoutingTrace* trace,
                       int64_t layer) const {
  const int64_t num_experts = router_.num_experts;
  const int64_t top_k = router_.top_k;
  float* logits = workspace;
  auto* experts = reinterpret_cast<int32_t*>(logits + n * num_experts);
  float* weights = reinterpret_cast<float*>(experts + n * top_k);
  auto* grouped = reinterpret_cast<int32_t*>(weights + n * top_k);  // routed slots, by expert
  auto* offsets = grouped + n * top_k;                              // [num_experts + 1]
  float* gathered = reinterpret_cast<float*>(offsets + num_experts + 1);
  float* expert_out = gathered + n * hidden_;
  float* mlp_workspace = expert_out + n * hidden_;

  k.matmul(w.router.weight, x, n, logits, num_experts, pool);
  route_top_k(router_, logits, n, experts, weights, k);
  if (trace != nullptr) trace->record(layer, experts, n);

  // Counting sort of the n*k routed slots by expert.
  std::fill(offsets, offsets + num_experts + 1, 0);
  for (int64_t slot = 0; slot < n * top_k; ++slot) offsets[experts[slot] + 1]++;
  for (int64_t e = 0; e < num_experts; ++e) offsets[e + 1] += offsets[e];
  for (int64_t slot = 0; slot < n * top_k; ++slot) {
    // `offsets[e]` advances while filling and is restored below.
    grouped[offsets[experts[slot]]++] = static_cast<int32_t>(slot);
  }
  for (int64_t e = num_experts; e > 0; --e) offsets[e] = offsets[e - 1];
  offsets[0] = 0;

  std::fill(out, out + n * hidden_, 0.0f);
  for (int64_t e = 0; e < num_experts; ++e) {
    const int64_t rows = offsets[e + 1] - offsets[e];
    if (rows == 0) continue;
    const int32_t* slots = grouped + offsets[e];
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t token = slots[r] / top_k;
      std::memcpy(gathered + r * hidden_, x + token * hidden_, hidden_ * sizeof(float));
    }
    expert_mlp_.forward(w.experts[e], gathered, rows, mlp_workspace, expert_out, k, pool);
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t token = slots[r] / top_k;
      k.axpy(weights[slots[r]], expert_out + r * hidden_, hidden_, out + token * hidden_);
    }
  }
}

}  // namespace localmoe
