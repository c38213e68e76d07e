#include "localmoe/model/attention.h"

#include <cmath>

#include "localmoe/base/error.h"
#include "localmoe/kernels/kernels.h"

namespace localmoe {

Attention::Attention(const ModelConfig& c)
    : hidden_(c.hidden_size),
      num_heads_(c.num_heads),
      num_kv_heads_(c.num_kv_heads),
      head_dim_(c.head_dim),
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

int64_t Attention::workspace_floats(const ModelConfig& c, int64_t max_tokens, int num_threads) {
  // q and the attention output, [n, q_dim] each, then per-thread scores.
  return 2 * max_tokens * c.q_dim() + num_threads * c.max_position_embeddings;
}

void Attention::forward(const AttentionWeights& w, const float* x,
                        std::span<const int32_t> positions, float* k_cache, float* v_cache,
                        int64_t cache_capacity, float* workspace, float* out,
                        ThreadPool& pool) const {
  const int64_t n = static_cast<int64_t>(positions.size());
  const int64_t q_dim = num_heads_ * head_dim_;
  const int64_t kv_dim = num_kv_heads_ * head_dim_;
  const int64_t start = positions[0];
  float* q = workspace;
  float* context = q + n * q_dim;
  float* scores = context + n * q_dim;
  float* k_new = k_cache + start * kv_dim;
  float* v_new = v_cache + start * kv_dim;

  const kernels::MatmulTarget projections[] = {
      {&w.q.weight, q, q_dim}, {&w.k.weight, k_new, kv_dim}, {&w.v.weight, v_new, kv_dim}};
  kernels::matmul_many(projections, x, n, pool);
  if (w.q.bias != nullptr) kernels::add_bias(w.q.bias, n, q_dim, q_dim, q);
  if (w.k.bias != nullptr) kernels::add_bias(w.k.bias, n, kv_dim, kv_dim, k_new);
  if (w.v.bias != nullptr) kernels::add_bias(w.v.bias, n, kv_dim, kv_dim, v_new);

  if (rotary_) {
    kernels::rope(q, positions.data(), n, num_heads_, head_dim_, inv_freq_.data(),
                  rope_position_scale_);
    kernels::rope(k_new, positions.data(), n, num_kv_heads_, head_dim_, inv_freq_.data(),
                  rope_position_scale_);
  }

  const kernels::AttentionArgs args{
      .q = q,
      .k_cache = k_cache,
      .v_cache = v_cache,
      .positions = positions.data(),
      .num_tokens = n,
      .num_heads = num_heads_,
      .num_kv_heads = num_kv_heads_,
      .head_dim = head_dim_,
      .sliding_window = sliding_window_,
      .scale = scale_,
      .out = context,
      .scratch = scores,
      .scratch_stride = cache_capacity,
  };
  kernels::attention(args, pool);

  kernels::matmul(w.o.weight, context, n, out, hidden_, pool);
  if (w.o.bias != nullptr) kernels::add_bias(w.o.bias, n, hidden_, hidden_, out);
}

}  // namespace localmoe
