#pragma once
// The one owner of every device KV block. A block is an int32 id; the pool
// keeps its reference count (how many requests hold it) and, once the block
// is full and computed, its prefix-cache identity: the chained hash, the
// block's token ids and a link to its parent block. Blocks no request holds
// sit in a free queue in eviction order; a freed block that is cached keeps
// its content and stays findable until allocation pops it from the queue
// (least recently freed first) and evicts it. Nothing here allocates after
// construction. Single-threaded, like the scheduler that drives it.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "localmoe/base/allocator.h"
#include "localmoe/base/error.h"
#include "localmoe/kv/block_hash.h"

namespace localmoe {

// The identity of a run of cached blocks, carried from one block to the
// next: the last block's chained hash and its cache serial. Serials are never
// reused, so a block cached under parent serial s can only follow the exact
// block that held serial s: together with the token comparison this verifies
// the whole prefix, not just the last block, whatever the hash does.
struct PrefixChain {
  uint64_t hash = kRootBlockHash;  // chained hash of the run's last block
  uint64_t serial = 0;             // cache serial of the run's last block; 0 = empty run
};

// Prefix-cache counters since construction (GET /v1/stats/memory).
struct PrefixCacheStats {
  int64_t queries = 0;       // lookups bound to a request (one per admission)
  int64_t query_tokens = 0;  // tokens of the sequences looked up
  int64_t hit_tokens = 0;    // of which found cached
  int64_t query_blocks = 0;  // full blocks that could have hit (the last token never does)
  int64_t hit_blocks = 0;    // of which found cached
  int64_t evictions = 0;     // cached blocks whose content was dropped to reuse the block

  int64_t miss_tokens() const { return query_tokens - hit_tokens; }
  int64_t miss_blocks() const { return query_blocks - hit_blocks; }
  // hit_tokens / query_tokens; 0 before the first query.
  double hit_rate() const;
};

class BlockPool {
 public:
  // Every block starts free and uncached; the free queue is 0, 1, ..., n-1.
  // The per-block metadata and token table come from `allocator`
  // (MemoryCategory::kOther).
  BlockPool(int32_t num_blocks, int32_t block_size, Allocator& allocator,
            BlockHashFn hash = hash_block_tokens);

  int32_t num_blocks() const { return num_blocks_; }
  int32_t block_size() const { return block_size_; }
  // Blocks no request holds, cached ones included.
  int32_t num_free_blocks() const { return num_free_; }
  // Blocks whose content is findable, held or free.
  int32_t num_cached_blocks() const { return num_cached_; }
  // Fraction of the blocks held by requests.
  double usage() const;

  // ---- reference counts -------------------------------------------------------

  // Pops `count` blocks from the front of the free queue, evicting the cached
  // content of each, and appends them to `out` with a reference count of 1.
  // The caller checks capacity first: count <= num_free_blocks().
  void allocate(int32_t count, std::vector<int32_t>& out);
  // Adds a reference to each block (a prefix hit, or a fork sharing blocks);
  // a block nobody held leaves the free queue.
  void acquire(std::span<const int32_t> blocks);
  // Drops a reference from each block, in order. A block reaching zero joins
  // the free queue: at the back when cached (evicted last, so the order given
  // is the eviction order), at the front when it holds nothing worth keeping.
  void release(std::span<const int32_t> blocks);
  int32_t ref_count(int32_t block) const;

  // ---- prefix cache -----------------------------------------------------------

  // The longest run of cached full blocks that prefixes `tokens`, excluding the
  // block holding the last token (one token must always be computed so the
  // model yields logits). Appends the blocks to `out` without taking
  // references; `chain` becomes the run's identity. Use them before anything
  // allocates: allocation may evict them.
  void find_prefix(std::span<const int32_t> tokens, std::vector<int32_t>& out,
                   PrefixChain& chain) const;
  // The cached block holding `tokens` (one full block) right after `parent`.
  std::optional<int32_t> find_cached(const PrefixChain& parent,
                                     std::span<const int32_t> tokens) const;
  // Makes a held, computed, uncached block findable as `tokens` (one full
  // block) following `chain`, and advances `chain` to it.
  void cache_block(int32_t block, std::span<const int32_t> tokens, PrefixChain& chain);
  bool is_cached(int32_t block) const;
  // The identity a cached block carries (its hash and serial).
  PrefixChain cached_identity(int32_t block) const;
  // Counts one bound lookup of `num_query_tokens` tokens that hit `num_hit_blocks`.
  void record_query(int64_t num_query_tokens, int32_t num_hit_blocks);
  const PrefixCacheStats& stats() const { return stats_; }

  // The free queue from the front (next to be evicted) to the back; for tests
  // and diagnostics.
  void free_queue(std::vector<int32_t>& out) const;

 private:
  static constexpr int32_t kNone = -1;

  struct BlockMeta {
    uint64_t hash;           // chained hash; meaningful when serial != 0
    uint64_t serial;         // cache serial; 0 = not cached
    uint64_t parent_serial;  // serial of the block before it in its sequence; 0 = first block
    int32_t ref_count;       // 0 <=> in the free queue
    int32_t prev_free;       // free-queue neighbours (kNone at the ends)
    int32_t next_free;
    int32_t next_in_bucket;  // hash-bucket chain of cached blocks
  };

  BlockMeta& meta(int32_t block) {
    LM_DCHECK(block >= 0 && block < num_blocks_);
    return meta_[block];
  }
  const BlockMeta& meta(int32_t block) const {
    LM_DCHECK(block >= 0 && block < num_blocks_);
    return meta_[block];
  }
  std::span<const int32_t> tokens_of(int32_t block) const {
    return {tokens_ + static_cast<size_t>(block) * block_size_, static_cast<size_t>(block_size_)};
  }
  int32_t& bucket(uint64_t hash) { return buckets_[hash & bucket_mask_]; }
  int32_t bucket(uint64_t hash) const { return buckets_[hash & bucket_mask_]; }

  void push_front(int32_t block);
  void push_back(int32_t block);
  void unlink_free(int32_t block);
  void evict(int32_t block);

  int32_t num_blocks_;
  int32_t block_size_;
  BlockHashFn hash_;
  AlignedBuffer meta_buffer_;     // BlockMeta[num_blocks]
  AlignedBuffer tokens_buffer_;   // int32 [num_blocks, block_size]: tokens of cached blocks
  AlignedBuffer buckets_buffer_;  // int32 [num_buckets]: first cached block per hash bucket
  BlockMeta* meta_;
  int32_t* tokens_;
  int32_t* buckets_;
  uint64_t bucket_mask_;
  int32_t free_head_ = kNone;
  int32_t free_tail_ = kNone;
  int32_t num_free_ = 0;
  int32_t num_cached_ = 0;
  uint64_t next_serial_ = 1;
  PrefixCacheStats stats_;
};

}  // namespace localmoe
