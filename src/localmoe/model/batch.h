#pragma once
// One step of the model as plain data: the tokens of several sequences laid
// end to end, where each token sits in the paged KV cache, and which rows
// need logits. A sequence may contribute one decode token, a chunk of its
// prompt that continues a cached prefix, or a whole prompt; the forward pass
// does not distinguish them. BatchBuilder fills one from per-sequence parts
// into buffers it keeps, so building a step allocates nothing once warm.

#include <cstdint>
#include <span>
#include <vector>

namespace localmoe {

struct Batch {
  std::span<const int32_t> token_ids;     // [num_tokens]
  std::span<const int32_t> positions;     // [num_tokens]: position within its sequence
  std::span<const int32_t> query_start;   // [num_seqs + 1]: sequence s owns [start[s], start[s+1])
  std::span<const int32_t> block_tables;  // [num_seqs, max_blocks_per_seq], physical block ids
  int64_t max_blocks_per_seq = 0;
  std::span<const int64_t> slot_mapping;  // [num_tokens]: KV slot, block * block_size + offset
  std::span<const int32_t> logits_rows;   // token indices whose logits are computed, in order

  int64_t num_tokens() const { return static_cast<int64_t>(token_ids.size()); }
  int64_t num_seqs() const { return static_cast<int64_t>(query_start.size()) - 1; }
};

// Which of a sequence's new tokens need logits.
enum class LogitsFor {
  kNone,       // a prefill chunk that is not the prompt's last
  kLastToken,  // generation: the next token is sampled from the last row
  kAllTokens,  // scoring: perplexity, prompt logprobs, tests
};

class BatchBuilder {
 public:
  explicit BatchBuilder(int64_t block_size) : block_size_(block_size) {}

  void clear();
  // Capacity for batches of up to `tokens` tokens in `seqs` sequences of up
  // to `blocks_per_seq` blocks each, so that building them never allocates.
  void reserve(int64_t tokens, int64_t seqs, int64_t blocks_per_seq);
  // Adds `tokens`, the sequence's tokens at positions [first_position,
  // first_position + tokens.size()), whose KV blocks are `block_table`
  // (covering at least every one of those positions).
  void add_sequence(std::span<const int32_t> tokens, int64_t first_position,
                    std::span<const int32_t> block_table, LogitsFor logits);
  // A view of what was added; valid until the next clear() or add_sequence().
  Batch batch() const;

  int64_t num_tokens() const { return static_cast<int64_t>(token_ids_.size()); }
  int64_t num_logits_rows() const { return static_cast<int64_t>(logits_rows_.size()); }
  int64_t block_size() const { return block_size_; }

 private:
  // Widens every sequence's block-table row to `blocks` entries.
  void widen_block_tables(int64_t blocks);

  int64_t block_size_;
  std::vector<int32_t> token_ids_;
  std::vector<int32_t> positions_;
  std::vector<int32_t> query_start_ = {0};
  std::vector<int32_t> block_tables_;  // [num_seqs, max_blocks_per_seq_], padded with 0
  int64_t max_blocks_per_seq_ = 0;
  std::vector<int64_t> slot_mapping_;
  std::vector<int32_t> logits_rows_;
};

}  // namespace localmoe
