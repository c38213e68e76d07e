#include "localmoe/model/batch.h"

#include <algorithm>

#include "localmoe/base/error.h"

namespace localmoe {

void BatchBuilder::clear() {
  token_ids_.clear();
  positions_.clear();
  query_start_.assign(1, 0);
  block_tables_.clear();
  max_blocks_per_seq_ = 0;
  slot_mapping_.clear();
  logits_rows_.clear();
}

void BatchBuilder::reserve(int64_t tokens, int64_t seqs, int64_t blocks_per_seq) {
  token_ids_.reserve(static_cast<size_t>(tokens));
  positions_.reserve(static_cast<size_t>(tokens));
  slot_mapping_.reserve(static_cast<size_t>(tokens));
  logits_rows_.reserve(static_cast<size_t>(tokens));
  query_start_.reserve(static_cast<size_t>(seqs + 1));
  block_tables_.reserve(static_cast<size_t>(seqs * blocks_per_seq));
}

void BatchBuilder::widen_block_tables(int64_t blocks) {
  const int64_t num_seqs = static_cast<int64_t>(query_start_.size()) - 1;
  block_tables_.resize(static_cast<size_t>(num_seqs * blocks), 0);
  // Move rows back to front so none is overwritten before it is moved.
  for (int64_t s = num_seqs - 1; s >= 0; --s) {
    for (int64_t b = max_blocks_per_seq_ - 1; b >= 0; --b) {
      block_tables_[s * blocks + b] = block_tables_[s * max_blocks_per_seq_ + b];
    }
    std::fill(block_tables_.begin() + s * blocks + max_blocks_per_seq_,
              block_tables_.begin() + (s + 1) * blocks, 0);
  }
  max_blocks_per_seq_ = blocks;
}

void BatchBuilder::add_sequence(std::span<const int32_t> tokens, int64_t first_position,
                                std::span<const int32_t> block_table, LogitsFor logits) {
  LM_CHECK(!tokens.empty());
  const int64_t count = static_cast<int64_t>(tokens.size());
  const int64_t last_position = first_position + count - 1;
  LM_CHECK_LT(last_position / block_size_, static_cast<int64_t>(block_table.size()));
  const int64_t blocks = static_cast<int64_t>(block_table.size());
  if (blocks > max_blocks_per_seq_) widen_block_tables(blocks);

  const int64_t first_row = num_tokens();
  for (int64_t i = 0; i < count; ++i) {
    const int64_t position = first_position + i;
    token_ids_.push_back(tokens[i]);
    positions_.push_back(static_cast<int32_t>(position));
    slot_mapping_.push_back(static_cast<int64_t>(block_table[position / block_size_]) *
                                block_size_ +
                            position % block_size_);
  }
  block_tables_.insert(block_tables_.end(), block_table.begin(), block_table.end());
  block_tables_.resize(block_tables_.size() + (max_blocks_per_seq_ - blocks), 0);
  query_start_.push_back(static_cast<int32_t>(first_row + count));
  if (logits == LogitsFor::kLastToken) {
    logits_rows_.push_back(static_cast<int32_t>(first_row + count - 1));
  } else if (logits == LogitsFor::kAllTokens) {
    for (int64_t i = 0; i < count; ++i) logits_rows_.push_back(static_cast<int32_t>(first_row + i));
  }
}

Batch BatchBuilder::batch() const {
  return Batch{
      .token_ids = token_ids_,
      .positions = positions_,
      .query_start = query_start_,
      .block_tables = block_tables_,
      .max_blocks_per_seq = max_blocks_per_seq_,
      .slot_mapping = slot_mapping_,
      .logits_rows = logits_rows_,
  };
}

}  // namespace localmoe
