#include "localmoe/model/sequence_kv_cache.h"

namespace localmoe {

SequenceKvCache::SequenceKvCache(const ModelConfig& config, int64_t capacity_tokens,
                                 Allocator& allocator)
    : num_layers_(config.num_layers), kv_dim_(config.kv_dim()), capacity_(capacity_tokens) {
  LM_CHECK_GT(capacity_tokens, 0);
  const size_t bytes = static_cast<size_t>(num_layers_ * 2 * capacity_ * kv_dim_) * sizeof(float);
  buffer_ = allocator.allocate(bytes, MemoryCategory::kKvCache);
}

}  // namespace localmoe
