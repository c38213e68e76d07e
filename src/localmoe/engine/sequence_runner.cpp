#include "localmoe/engine/sequence_runner.h"

#include <numeric>

#include "localmoe/base/error.h"

namespace localmoe {
SequenceRunner::SequenceRunner(Transformer& model, int64_t capacity_tokens, DType kv_dtype,
                               Allocator& allocator)
    : model_(model),
      capacity_(capacity_tokens),
      kv_(model.kv_layout(kv_dtype), blocks_for_tokens(capacity_tokens, model.block_size()),
          /*num_host_blocks=*/0, allocator),
      block_table_(static_cast<size_t>(blocks_for_tokens(capacity_tokens, model.block_size()))),
      builder_(model.block_size()) {
  LM_CHECK_GT(capacity_tokens, 0);
  std::iota(block_table_.begin(), block_table_.end(), 0);
}

void SequenceRunner::append(std::span<const int32_t> tokens, LogitsFor which, float* logits) {
  const int64_t count = static_cast<int64_t>(tokens.size());
  LM_CHECK_LE(count, model_.max_batch_tokens());
  LM_CHECK_LE(num_tokens_ + count, capacity_);
  builder_.clear();
  builder_.add_sequence(tokens, num_tokens_, block_table_, which);
  model_.forward(builder_.batch(), kv_, logits);
  num_tokens_ += count;
}

}  // namespace localmoe
