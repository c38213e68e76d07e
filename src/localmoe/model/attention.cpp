#include "localmoe/model/attention.h"

#include <cmath>

#include "localmoe/base/error.h"

namespace localmoe {

Attention::Attention(const ModelConfig& c, int64_t block_size)
    : hidden_(c.hidden_size),
      num_heads_(c.num_heads),
      num_kv_heads_(c.num_kv_heads),
      head_dim_(c.head_dim),
      block_size_(block_size),
      max_context_(c.max_position_embeddings),
      sliding_window_(c.sliding_window.value_or(0)),
      rotary_(c.position == PositionKind::kRope),
      rope_position_scale_(c.rope_scaling == RopeScalingKind::kLinear ? 1.0 / c.rope_scaling_factor
                                                                      : 1.0),
      scale_(static_cast<float>(1.0 / std::sqrt(static_cast<double>(c.head_dim)))) {
  // Hugging Face: inv_freq[i] = 1 / theta^(2i / head_dim).
  for (int64_t i = 0; i < head_dim_ / 2; ++i) {
    inv_freq_.push_back(1.0 / std::pow(c.rope_theta, static_cast<double>(2 * i) / head_dim_));
  }
}

int64_t Attention::scratch_stride() const {
  const int64_t floats = kernels::paged_attention_scratch_floats(
      num_heads_, num_kv_heads_, head_dim_, block_size_, max_context_);
  return (floats + 15) / 16 * 16;
}

int64_t Attention::workspace_floats(int64_t max_tokens, int num_threads) const {
  // q, this step's k and v, the attention output, then per-thread scratch.
  const int64_t q_dim = num_heads_ * head_dim_;
  const int64_t kv_dim = num_kv_heads_ * head_dim_;
  return max_tokens * (2 * q_dim + 2 * kv_dim) + num_threads * scratch_stride();
}

void Attention::forward(const AttentionWeights& w, const float* x, const Batch& batch,
                        const kernels::PagedKvLayer& kv, float* workspace, float* out,
                        const kernels::Kernels& k, ThreadPool& pool) const {
  const int64_t n = batch.num_tokens();
  const int64_t q_dim = num_heads_ * head_dim_;
  const int64_t kv_dim = num_kv_heads_ * head_dim_;
  LM_DCHECK_EQ(kv.block_size, block_size_);
  float* q = workspace;                 // [n, q_dim]
  float* k_new = q + n * q_dim;         // [n, kv_dim]
  float* v_new = k_new + n * kv_dim;    // [n, kv_dim]
  float* context = v_new + n * kv_dim;  // [n, q_dim]
  float* scratch = context + n * q_dim;

  const kernels::MatmulTarget projections[] = {
      {&w.q.weight, q, q_dim}, {&w.k.weight, k_new, kv_dim}, {&w.v.weight, v_new, kv_dim}};
  k.matmul_many(projections, x, n, pool);
  if (w.q.bias != nullptr) k.add_bias(w.q.bias, n, q_dim, q_dim, q);
  if (w.k.bias != nullptr) k.add_bias(w.k.bias, n, kv_dim, kv_dim, k_new);
  if (w.v.bias != nullptr) k.add_bias(w.v.bias, n, kv_dim, kv_dim, v_new);

  if (rotary_) {
    k.rope(q, batch.positions.data(), n, num_heads_, head_dim_, inv_freq_.data(),
           rope_position_scale_);
    k.rope(k_new, batch.positions.data(), n, num_kv_heads_, head_dim_, inv_freq_.data(),
           rope_position_scale_);
  }
  k.store_kv(kv, k_new, v_new, batch.slot_mapping.data(), n);

  const kernels::PagedAttentionArgs args{
      .q = q,
      .kv = kv,
      .positions = batch.positions.data(),
      .query_start = batch.query_start.data(),
      .num_seqs = batch.num_seqs(),
      .block_tables = batch.block_tables.data(),
      .max_blocks_per_seq = batch.max_blocks_per_seq,
      .num_heads = num_heads_,
      .sliding_window = sliding_window_,
      .scale = scale_,
      .out = context,
  };
  k.paged_attention(args, scratch, scratch_stride(), pool);

  k.matmul(w.o.weight, context, n, out, hidden_, pool);
  if (w.o.bias != nullptr) k.add_bias(w.o.bias, n, hidden_, hidden_, out);
}

}  // namespace localmoe
