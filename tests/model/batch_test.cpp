// BatchBuilder lays sequences end to end: positions, slots through each
// sequence's block table, padded block-table rows and the logits rows.

#include "localmoe/model/batch.h"

#include <gtest/gtest.h>

#include <vector>

namespace localmoe {
namespace {

template <typename T>
std::vector<T> as_vector(std::span<const T> s) {
  return std::vector<T>(s.begin(), s.end());
}

TEST(BatchBuilder, LaysOutMixedSequences) {
  BatchBuilder builder(/*block_size=*/4);
  const std::vector<int32_t> decode = {7};
  const std::vector<int32_t> decode_blocks = {5, 2};  // position 5 sits in block 2, offset 1
  const std::vector<int32_t> prompt = {1, 2, 3, 4, 5, 6};
  const std::vector<int32_t> prompt_blocks = {9, 0, 3};
  builder.add_sequence(decode, /*first_position=*/5, decode_blocks, LogitsFor::kLastToken);
  builder.add_sequence(prompt, /*first_position=*/2, prompt_blocks, LogitsFor::kAllTokens);
  const std::vector<int32_t> chunk = {8, 9};
  const std::vector<int32_t> chunk_blocks = {4};
  builder.add_sequence(chunk, /*first_position=*/0, chunk_blocks, LogitsFor::kNone);

  const Batch b = builder.batch();
  EXPECT_EQ(b.num_tokens(), 9);
  EXPECT_EQ(b.num_seqs(), 3);
  EXPECT_EQ(as_vector(b.token_ids), (std::vector<int32_t>{7, 1, 2, 3, 4, 5, 6, 8, 9}));
  EXPECT_EQ(as_vector(b.positions), (std::vector<int32_t>{5, 2, 3, 4, 5, 6, 7, 0, 1}));
  EXPECT_EQ(as_vector(b.query_start), (std::vector<int32_t>{0, 1, 7, 9}));
  // Rows widened to the longest table (3 blocks), padded with block 0.
  EXPECT_EQ(b.max_blocks_per_seq, 3);
  EXPECT_EQ(as_vector(b.block_tables), (std::vector<int32_t>{5, 2, 0, 9, 0, 3, 4, 0, 0}));
  // slot = block * 4 + position % 4.
  EXPECT_EQ(as_vector(b.slot_mapping), (std::vector<int64_t>{9, 38, 39, 0, 1, 2, 3, 16, 17}));
  EXPECT_EQ(as_vector(b.logits_rows), (std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6}));
}

TEST(BatchBuilder, ClearStartsAnEmptyBatchAndKeepsCapacity) {
  BatchBuilder builder(/*block_size=*/2);
  const std::vector<int32_t> tokens = {1, 2, 3};
  const std::vector<int32_t> blocks = {1, 0};
  builder.add_sequence(tokens, 0, blocks, LogitsFor::kLastToken);
  builder.clear();
  EXPECT_EQ(builder.num_tokens(), 0);
  EXPECT_EQ(builder.batch().num_seqs(), 0);
  builder.add_sequence(tokens, 1, std::vector<int32_t>{3, 2}, LogitsFor::kLastToken);
  const Batch b = builder.batch();
  EXPECT_EQ(as_vector(b.slot_mapping), (std::vector<int64_t>{7, 4, 5}));
  EXPECT_EQ(as_vector(b.logits_rows), (std::vector<int32_t>{2}));
  EXPECT_EQ(b.max_blocks_per_seq, 2);
}

}  // namespace
}  // namespace localmoe
