#pragma once
// Keys and values of one sequence, contiguous per layer, in f32. It serves
// single-request generation and the exactness tests; the paged, shared cache
// of the batching engine lives in kv/.

#include <cstdint>

#include "localmoe/base/allocator.h"
#include "localmoe/base/error.h"
#include "localmoe/config/model_config.h"

namespace localmoe {

class SequenceKvCache {
 public:
  SequenceKvCache(const ModelConfig& config, int64_t capacity_tokens, Allocator& allocator);

  // [capacity, num_kv_heads, head_dim] for `layer`.
  float* keys(int64_t layer) { return base(layer, 0); }
  float* values(int64_t layer) { return base(layer, 1); }

  int64_t num_tokens() const { return num_tokens_; }
  int64_t capacity() const { return capacity_; }
  int64_t free_tokens() const { return capacity_ - num_tokens_; }

  // Marks `count` more positions as filled (after a forward pass wrote them).
  void advance(int64_t count) {
    LM_CHECK_LE(num_tokens_ + count, capacity_);
    num_tokens_ += count;
  }
  void clear() { num_tokens_ = 0; }

 private:
  float* base(int64_t layer, int kind) {
    LM_DCHECK(layer >= 0 && layer < num_layers_);
    return buffer_.as<float>() + (layer * 2 + kind) * capacity_ * kv_dim_;
  }

  int64_t num_layers_;
  int64_t kv_dim_;
  int64_t capacity_;
  int64_t num_tokens_ = 0;
  AlignedBuffer buffer_;  // [num_layers, 2 (k, v), capacity, num_kv_heads, head_dim]
};

}  // namespace localmoe
