#include "localmoe/model/transformer.h"

#include <algorithm>

#include "localmoe/base/error.h"
#include "localmoe/model/arch/arch.h"

namespace localmoe {

Transformer::Transformer(ModelConfig config, std::unique_ptr<TensorSource> source,
                         int64_t max_batch_tokens, int64_t block_size,
                         const kernels::Kernels& kernels, Allocator& allocator, ThreadPool& pool)
    : config_(std::move(config)),
      source_(std::move(source)),
      max_batch_tokens_(max_batch_tokens),
      block_size_(block_size),
      kernels_(kernels),
      pool_(pool),
      norm_(config_),
      attention_(config_, block_size),
      mlp_(config_),
      moe_(config_) {
  LM_CHECK_GT(max_batch_tokens, 0);
  LM_CHECK_GT(block_size, 0);
  WeightBinder binder(*source_, allocator, weights_);
  bind_weights(config_, binder, weights_);
  for (const LayerWeights& layer : weights_.layers) {
    sparse_layer_.push_back(!layer.moe.experts.empty());
  }
  has_sparse_layers_ =
      std::find(sparse_layer_.begin(), sparse_layer_.end(), true) != sparse_layer_.end();

  const int64_t hidden = config_.hidden_size;
  int64_t ffn_scratch = 0;
  for (bool sparse : sparse_layer_) {
    ffn_scratch =
        std::max(ffn_scratch, sparse ? MoeBlock::workspace_floats(config_, max_batch_tokens)
                                     : Mlp::workspace_floats(config_, max_batch_tokens));
  }
  const int64_t scratch =
      std::max(attention_.workspace_floats(max_batch_tokens, pool.num_threads()), ffn_scratch);
  const int64_t floats = 3 * max_batch_tokens * hidden + scratch;
  workspace_ =
      allocator.allocate(static_cast<size_t>(floats) * sizeof(float), MemoryCategory::kWorkspace);
  residual_ = workspace_.as<float>();
  normed_ = residual_ + max_batch_tokens * hidden;
  block_out_ = normed_ + max_batch_tokens * hidden;
  layer_scratch_ = block_out_ + max_batch_tokens * hidden;
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

size_t Transformer::weight_bytes() const {
  size_t bytes = 0;
  for (const std::string& name : source_->names()) bytes += source_->find(name)->num_bytes;
  return bytes;
}

KvCacheLayout Transformer::kv_layout(DType dtype) const {
  return KvCacheLayout::of_model(config_, block_size_, dtype);
}

void Transformer::embed(const Batch& batch, float* out) const {
  const int64_t n = batch.num_tokens();
  kernels_.embedding(weights_.token_embedding, batch.token_ids.data(), n, out);
  if (config_.position == PositionKind::kLearned) {
    const int64_t hidden = config_.hidden_size;
    for (int64_t t = 0; t < n; ++t) {
      kernels_.embedding(weights_.position_embedding, &batch.positions[t], 1, normed_);
      kernels_.add(normed_, hidden, out + t * hidden);
    }
  }
}

// The batch comes from our own scheduler or runner: a violation is a bug.
void Transformer::check_batch(const Batch& batch, const KvStorage& kv) const {
  const int64_t n = batch.num_tokens();
  LM_CHECK(n > 0 && n <= max_batch_tokens_);
  LM_CHECK_EQ(static_cast<int64_t>(batch.positions.size()), n);
  LM_CHECK_EQ(static_cast<int64_t>(batch.slot_mapping.size()), n);
  LM_CHECK_EQ(batch.query_start.back(), n);
  LM_CHECK_EQ(kv.block_size(), block_size_);
  LM_CHECK_EQ(kv.num_layers(), config_.num_layers);
  LM_CHECK_EQ(static_cast<int64_t>(batch.block_tables.size()),
              batch.num_seqs() * batch.max_blocks_per_seq);
  for (int64_t t = 0; t < n; ++t) {
    LM_CHECK(batch.token_ids[t] >= 0 && batch.token_ids[t] < config_.vocab_size);
    LM_CHECK(batch.positions[t] >= 0 && batch.positions[t] < config_.max_position_embeddings);
    LM_CHECK(batch.slot_mapping[t] >= 0 &&
             batch.slot_mapping[t] < kv.num_blocks() * kv.block_size());
  }
  for (int32_t block : batch.block_tables) LM_CHECK(block >= 0 && block < kv.num_blocks());
  for (int32_t row : batch.logits_rows) LM_CHECK(row >= 0 && row < n);
}

void Transformer::forward(const Batch& batch, KvStorage& kv, float* logits) {
  check_batch(batch, kv);
  const int64_t n = batch.num_tokens();
  const int64_t hidden = config_.hidden_size;

  embed(batch, residual_);
  for (int64_t i = 0; i < config_.num_layers; ++i) {
    const LayerWeights& layer = weights_.layers[i];
    const kernels::PagedKvLayer layer_kv{
        .keys = kv.keys(i),
        .values = kv.values(i),
        .dtype = kv.dtype(),
        .block_size = kv.block_size(),
        .num_kv_heads = kv.num_kv_heads(),
        .head_dim = kv.head_dim(),
    };
    norm_.apply(layer.attention_norm, residual_, n, hidden, normed_, kernels_);
    attention_.forward(layer.attention, normed_, batch, layer_kv, layer_scratch_, block_out_,
                       kernels_, pool_);
    kernels_.add(block_out_, n * hidden, residual_);
    norm_.apply(layer.mlp_norm, residual_, n, hidden, normed_, kernels_);
    if (sparse_layer_[i]) {
      moe_.forward(layer.moe, normed_, n, layer_scratch_, block_out_, kernels_, pool_,
                   routing_trace_, i);
    } else {
      mlp_.forward(layer.mlp, normed_, n, layer_scratch_, block_out_, kernels_, pool_);
    }
    kernels_.add(block_out_, n * hidden, residual_);
  }
  // Only the rows that need logits go through the final norm and lm_head.
  const int64_t rows = static_cast<int64_t>(batch.logits_rows.size());
  if (rows == 0) return;
  for (int64_t r = 0; r < rows; ++r) {
    norm_.apply(weights_.final_norm, residual_ + batch.logits_rows[r] * hidden, 1, hidden,
                normed_ + r * hidden, kernels_);
  }
  kernels_.matmul(weights_.lm_head.weight, normed_, rows, logits, config_.vocab_size, pool_);
}

void Transformer::set_routing_trace(RoutingTrace* trace) {
  if (trace != nullptr) {
    if (!has_sparse_layers_) {
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
