#pragma once
// Self-attention over a batch of sequences: q/k/v projections, rotary
// positions, this step's keys and values stored into their paged-cache
// slots, causal grouped-query attention (optional sliding window) over each
// sequence's blocks, output projection.

#include <cstdint>
#include <vector>

#include "localmoe/base/thread_pool.h"
#include "localmoe/config/model_config.h"
#include "localmoe/kernels/kernels.h"
#include "localmoe/model/batch.h"
#include "localmoe/model/weights.h"

namespace localmoe {

class Attention {
 public:
  Attention(const ModelConfig& config, int64_t block_size);

  // Scratch floats this layer needs for `max_tokens` tokens and `num_threads`.
  int64_t workspace_floats(int64_t max_tokens, int num_threads) const;

  // x: [n, hidden] normalized input of batch.num_tokens() tokens;
  // kv: this layer's cache; out: [n, hidden].
  void forward(const AttentionWeights& w, const float* x, const Batch& batch,
               const kernels::PagedKvLayer& kv, float* workspace, float* out,
               const kernels::Kernels& k, ThreadPool& pool) const;

 private:
  // Per-thread attention scratch, rounded to whole cache lines.
  int64_t scratch_stride() const;

  int64_t hidden_;
  int64_t num_heads_;
  int64_t num_kv_heads_;
  int64_t head_dim_;
  int64_t block_size_;
  int64_t max_context_;
  int64_t sliding_window_;  // 0: none
  bool rotary_;
  double rope_position_scale_;    // 1 / linear scaling factor
  std::vector<double> inv_freq_;  // [head_dim / 2]
  float scale_;
};

}  // namespace localmoe
