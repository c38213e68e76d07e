#pragma once
// Self-attention of a chunk of one sequence's tokens: q/k/v projections (k
// and v written straight into the KV cache), rotary positions, causal
// grouped-query attention with an optional sliding window, output projection.

#include <cstdint>
#include <span>
#include <vector>

#include "localmoe/base/thread_pool.h"
#include "localmoe/config/model_config.h"
#include "localmoe/model/weights.h"

namespace localmoe {

class Attention {
 public:
  explicit Attention(const ModelConfig& config);

  // Scratch floats this layer needs for `max_tokens` tokens and `num_threads`.
  static int64_t workspace_floats(const ModelConfig& config, int64_t max_tokens, int num_threads);

  // x: [n, hidden] normalized input; positions: [n] (consecutive, starting at
  // the cache's fill); k_cache / v_cache: [capacity, kv_dim]; out: [n, hidden].
  void forward(const AttentionWeights& w, const float* x, std::span<const int32_t> positions,
               float* k_cache, float* v_cache, int64_t cache_capacity, float* workspace, float* out,
               ThreadPool& pool) const;

 private:
  int64_t hidden_;
  int64_t num_heads_;
  int64_t num_kv_heads_;
  int64_t head_dim_;
  int64_t sliding_window_;  // 0: none
  bool rotary_;
  double rope_position_scale_;    // 1 / linear scaling factor
  std::vector<double> inv_freq_;  // [head_dim / 2]
  float scale_;
};

}  // namespace localmoe
