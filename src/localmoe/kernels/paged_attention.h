#pragma once
// The arguments of causal attention over a paged KV cache, for a batch that
// mixes sequences: decodes (one query each), prefill chunks that continue a
// cached prefix, and whole prompts. Plain data; the kernel table computes one
// work item (sequence, KV head, run of query tokens) at a time.

#include <cstdint>

#include "localmoe/base/dtype.h"

namespace localmoe::kernels {

// One layer's keys and values in blocks of `block_size` token slots.
struct PagedKvLayer {
  void* keys = nullptr;    // [num_blocks, block_size, num_kv_heads, head_dim] in dtype
  void* values = nullptr;  // [num_blocks, block_size, num_kv_heads, head_dim] in dtype
  DType dtype = DType::kF32;
  int64_t block_size = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
};

struct PagedAttentionArgs {
  const float* q;              // [num_tokens, num_heads, head_dim], positions applied
  PagedKvLayer kv;             // this step's keys and values already stored
  const int32_t* positions;    // [num_tokens]; a query at p sees its sequence's keys 0..p
  const int32_t* query_start;  // [num_seqs + 1]: sequence s owns tokens [start[s], start[s+1])
  int64_t num_seqs;
  const int32_t* block_tables;  // [num_seqs, max_blocks_per_seq]: physical block of each
  int64_t max_blocks_per_seq;   // sequence's logical block
  int64_t num_heads;
  int64_t sliding_window;  // 0: none; else keys j with position - j < sliding_window
  float scale;             // usually 1 / sqrt(head_dim)
  float* out;              // [num_tokens, num_heads, head_dim]
};

// Query tokens of one sequence that one work item handles at most: enough to
// reuse each converted K/V block across many queries, few enough that the
// item's accumulators stay in L2.
inline constexpr int64_t kAttentionQueryTile = 16;

// Floats of per-thread scratch one work item needs.
int64_t paged_attention_scratch_floats(int64_t num_heads, int64_t num_kv_heads, int64_t head_dim,
                                       int64_t block_size, int64_t max_context);

}  // namespace localmoe::kernels
