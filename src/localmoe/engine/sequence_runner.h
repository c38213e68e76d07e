#pragma once
// One sequence through a model over a paged KV cache of its own (blocks
// 0..n-1 in order): the batched forward pass with a batch of one. It serves
// offline scoring (perplexity) and the exactness tests, which need a
// sequence alone to compare batched runs against.

#include <cstdint>
#include <span>
#include <vector>

#include "localmoe/base/allocator.h"
#include "localmoe/base/dtype.h"
#include "localmoe/kv/kv_storage.h"
#include "localmoe/model/batch.h"
#include "localmoe/model/transformer.h"

namespace localmoe {

class SequenceRunner {
 public:
  // Room for `capacity_tokens` tokens, keys and values stored in `kv_dtype`.
  SequenceRunner(Transformer& model, int64_t capacity_tokens, DType kv_dtype, Allocator& allocator);

  // Starts a new, empty sequence (the cache is reused).
  void reset() { num_tokens_ = 0; }
  int64_t num_tokens() const { return num_tokens_; }
  int64_t capacity() const { return capacity_; }

  // Appends `tokens` (at most model.max_batch_tokens(), within capacity) and
  // writes logits [1 or tokens.size(), vocab] as `which` asks.
  void append(std::span<const int32_t> tokens, LogitsFor which, float* logits);

 private:
  Transformer& model_;
  int64_t capacity_;
  KvStorage kv_;
  std::vector<int32_t> block_table_;  // 0, 1, 2, ...
  BatchBuilder builder_;
  int64_t num_tokens_ = 0;
};

}  // namespace localmoe
