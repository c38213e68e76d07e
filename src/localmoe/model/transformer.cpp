#include "localmoe/model/transformer.h"

#include <algorithm>
#include <numeric>

#include "localmoe/base/error.h"
#include "localmoe/kernels/kernels.h"
#include "localmoe/model/arch/arch.h"

namespace localmoe {

Transformer::Transformer(ModelConfig config, std::unique_ptr<TensorSource> source,
                         int64_t max_batch_tokens, Allocator& allocator, ThreadPool& pool)
    : config_(std::move(config)),
      source_(std::move(source)),
      max_batch_tokens_(max_batch_tokens),
      pool_(pool),
      norm_(config_),
      attention_(config_),
      mlp_(config_),
      moe_(config_),
      sparse_ffn_(config_.is_moe()) {
  LM_CHECK_GT(max_batch_tokens, 0);
  WeightBinder binder(*source_, allocator, weights_);
  bind_weights(config_, binder, weights_);

  const int64_t hidden = config_.hidden_size;
  const int64_t scratch =
      std::max({Attention::workspace_floats(config_, max_batch_tokens, pool.num_threads()),
                sparse_ffn_ ? MoeBlock::workspace_floats(config_, max_batch_tokens)
                            : Mlp::workspace_floats(config_, max_batch_tokens)});
  const int64_t floats = 3 * max_batch_tokens * hidden + scratch + max_batch_tokens;
  workspace_ =
      allocator.allocate(static_cast<size_t>(floats) * sizeof(float), MemoryCategory::kWorkspace);
  residual_ = workspace_.as<float>();
  normed_ = residual_ + max_batch_tokens * hidden;
  block_out_ = normed_ + max_batch_tokens * hidden;
  layer_scratch_ = block_out_ + max_batch_tokens * hidden;
  positions_ = reinterpret_cast<int32_t*>(layer_scratch_ + scratch);
}

size_t Transformer::weight_bytes_per_token() const {
  size_t bytes = weights_.token_embedding.num_bytes() / weights_.token_embedding.rows();
  for (const LayerWeights& layer : weights_.layers) {
    // Top-k of the experts run per token: count the average expert once per
    // active slot (exact when the experts have equal sizes, as in Mixtral).
    if (!layer.moe.experts.empty()) {
      const MlpWeights& expert = layer.moe.experts.front();
      const size_t expert_bytes = expert.gate.weight.num_bytes() + expert.up.weight.num_bytes() +
                                  expert.down.weight.num_bytes();
      bytes += layer.moe.router.weight.num_bytes() +
               expert_bytes * static_cast<size_t>(config_.num_experts_per_token);
    }
    for (const LinearWeights* linear :
         {&layer.attention.q, &layer.attention.k, &layer.attention.v, &layer.attention.o,
          &layer.mlp.gate, &layer.mlp.up, &layer.mlp.down}) {
      if (!linear->weight.empty()) bytes += linear->weight.num_bytes();
    }
  }
  return bytes + weights_.lm_head.weight.num_bytes();
}

void Transformer::embed(std::span<const int32_t> tokens, std::span<const int32_t> positions,
                        float* out) const {
  const int64_t n = static_cast<int64_t>(tokens.size());
  kernels::embedding(weights_.token_embedding, tokens.data(), n, out);
  if (config_.position == PositionKind::kLearned) {
    const int64_t hidden = config_.hidden_size;
    for (int64_t t = 0; t < n; ++t) {
      kernels::embedding(weights_.position_embedding, &positions[t], 1, normed_);
      kernels::add(normed_, hidden, out + t * hidden);
    }
  }
}

void Transformer::forward(std::span<const int32_t> tokens, SequenceKvCache& cache, LogitsFor which,
                          float* logits) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  const int64_t hidden = config_.hidden_size;
  LM_CHECK(n > 0 && n <= max_batch_tokens_);
  LM_CHECK_LE(cache.num_tokens() + n, cache.capacity());
  LM_CHECK_LE(cache.capacity(), config_.max_position_embeddings);
  for (int32_t token : tokens) LM_CHECK(token >= 0 && token < config_.vocab_size);

  const std::span<int32_t> positions(positions_, static_cast<size_t>(n));
  std::iota(positions.begin(), positions.end(), static_cast<int32_t>(cache.num_tokens()));

  embed(tokens, positions, residual_);
  for (int64_t i = 0; i < config_.num_layers; ++i) {
    const LayerWeights& layer = weights_.layers[i];
    norm_.apply(layer.attention_norm, residual_, n, hidden, normed_);
    attention_.forward(layer.attention, normed_, positions, cache.keys(i), cache.values(i),
                       cache.capacity(), layer_scratch_, block_out_, pool_);
    kernels::add(block_out_, n * hidden, residual_);
    norm_.apply(layer.mlp_norm, residual_, n, hidden, normed_);
    if (sparse_ffn_) {
      moe_.forward(layer.moe, normed_, n, layer_scratch_, block_out_, pool_, routing_trace_, i);
    } else {
      mlp_.forward(layer.mlp, normed_, n, layer_scratch_, block_out_, pool_);
    }
    kernels::add(block_out_, n * hidden, residual_);
  }
  const int64_t rows = which == LogitsFor::kLastToken ? 1 : n;
  norm_.apply(weights_.final_norm, residual_ + (n - rows) * hidden, rows, hidden, normed_);
  kernels::matmul(weights_.lm_head.weight, normed_, rows, logits, config_.vocab_size, pool_);
  cache.advance(n);
}

void Transformer::set_routing_trace(RoutingTrace* trace) {
  if (trace != nullptr) {
    if (!sparse_ffn_) {
      throw make_error(ErrorKind::kInvalidArgument, "routing trace: ", config_.arch_name,
                       " has no mixture-of-experts layers");
    }
    if (trace->num_layers() != config_.num_layers || trace->num_experts() != config_.num_experts ||
        trace->top_k() != config_.num_experts_per_token) {
      throw make_error(ErrorKind::kInvalidArgument, "routing trace for ", trace->num_layers(),
                       " layers x ", trace->num_experts(), " experts (top ", trace->top_k(),
                       ") does not fit the model's ", config_.num_layers, " x ",
                       config_.num_experts, " (top ", config_.num_experts_per_token, ")");
    }
  }
  routing_trace_ = trace;
}

}  // namespace localmoe
