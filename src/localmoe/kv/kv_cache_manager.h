#pragma once
// Maps each request to its block table over the BlockPool, and the host swap
// area's blocks of swapped-out requests. It finds prompt prefixes in the
// prefix cache, allocates slots for the tokens a step computes, caches full
// blocks once the model has computed them, frees, swaps and forks. Running
// out of blocks is an expected outcome (std::optional / bool), never an
// exception: the scheduler then preempts or waits. Block copies it orders are
// returned as BlockCopy lists for the engine to run on KvStorage.
// Single-threaded; requests are named by the engine's uint64 id.

#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "localmoe/base/allocator.h"
#include "localmoe/kv/block_copy.h"
#include "localmoe/kv/block_hash.h"
#include "localmoe/kv/block_pool.h"

namespace localmoe {

struct KvCacheManagerOptions {
  int32_t num_blocks = 0;       // device blocks (>= 1)
  int32_t num_host_blocks = 0;  // blocks of the host swap area; 0 = no swapping
  int32_t block_size = 16;      // tokens per block
  // Block-table capacity reserved per request, so growing a table never
  // reallocates: ceil(max_model_len / block_size).
  int32_t max_blocks_per_request = 0;
  bool enable_prefix_caching = true;
  BlockHashFn hash = hash_block_tokens;
};

// A prompt prefix found in the cache and not yet bound to a request. Its
// blocks live in the manager's scratch space: pass it to allocate_slots
// before any other call of the manager.
struct PrefixHit {
  std::span<const int32_t> blocks;  // cached blocks, in sequence order
  int64_t num_tokens = 0;           // blocks.size() x block_size
  int64_t num_query_tokens = 0;     // length of the sequence looked up; 0 = no lookup
  PrefixChain chain;                // identity of the run, continued by the request
  uint64_t pool_version = 0;        // the manager's state it was found in (checked)
};

// What fork() did to the child: the copy of the parent's partly filled last
// block, when there is one (the child writes its own tokens into it).
struct ForkResult {
  std::optional<BlockCopy> copy;  // device src (parent's) -> device dst (child's)
};

class KvCacheManager {
 public:
  KvCacheManager(const KvCacheManagerOptions& options, Allocator& allocator);

  int32_t block_size() const { return block_size_; }
  bool prefix_caching() const { return prefix_caching_; }
  // Blocks that hold `num_tokens` tokens: ceil(num_tokens / block_size).
  int64_t blocks_for_tokens(int64_t num_tokens) const;

  // ---- device blocks ----------------------------------------------------------

  // The longest cached prefix of `tokens` (a request's whole known sequence),
  // never all of it; empty without prefix caching. Binds nothing.
  PrefixHit get_computed_blocks(std::span<const int32_t> tokens);

  // Gives request `request_id` blocks for its first `num_tokens` tokens
  // (computed ones included), taking `hit`'s blocks first when the request
  // holds none yet. nullopt when the free blocks do not suffice; nothing
  // changes then. On success returns the block table, valid until the next
  // call that changes this request's blocks.
  std::optional<std::span<const int32_t>> allocate_slots(uint64_t request_id, int64_t num_tokens,
                                                         const PrefixHit& hit = {});

  // Caches every full block among the first `num_computed_tokens` of `tokens`
  // (the request's sequence) that is not cached yet. Call after the model has
  // written them, so a prefix hit never returns KV still being computed.
  void cache_computed_blocks(uint64_t request_id, std::span<const int32_t> tokens,
                             int64_t num_computed_tokens);

  // Releases every block of the request, device and host, and forgets it.
  // Device blocks go back last block first, so a sequence's tail is evicted
  // before the prefix other prompts may share. Unknown ids are ignored.
  void free(uint64_t request_id);

  // ---- swapping and forking ---------------------------------------------------

  // Moves the request's blocks to the host area: appends one copy per block
  // (device src -> host dst) to `copies` and frees the device blocks. False
  // when the host area lacks room; nothing changes then.
  bool swap_out(uint64_t request_id, std::vector<BlockCopy>& copies);
  // Brings a swapped-out request back with room for `num_tokens` tokens:
  // appends one copy per host block (host src -> device dst) and frees the
  // host blocks. False when the device blocks do not suffice; nothing changes.
  bool swap_in(uint64_t request_id, int64_t num_tokens, std::vector<BlockCopy>& copies);

  // Gives `child` the KV of the first `num_computed_tokens` of `parent`: the
  // full blocks are shared (reference counts), the partly filled last block
  // is copied into a new block. nullopt when no block is free for the copy.
  std::optional<ForkResult> fork(uint64_t parent_id, uint64_t child_id,
                                 int64_t num_computed_tokens);

  // ---- queries ----------------------------------------------------------------

  bool holds(uint64_t request_id) const { return requests_.contains(request_id); }
  // The request's device blocks; empty when it holds none.
  std::span<const int32_t> block_table(uint64_t request_id) const;
  int32_t num_host_blocks_of(uint64_t request_id) const;
  // Leading tokens of the request whose blocks are in the prefix cache: what a
  // recompute would get back without running the model (if not evicted).
  int64_t num_cached_tokens(uint64_t request_id) const;

  int32_t num_blocks() const { return pool_.num_blocks(); }
  int32_t num_free_blocks() const { return pool_.num_free_blocks(); }
  int32_t num_host_blocks() const { return num_host_blocks_; }
  int32_t num_free_host_blocks() const { return static_cast<int32_t>(free_host_blocks_.size()); }
  // Fraction of device blocks held by requests.
  double usage() const { return pool_.usage(); }
  const BlockPool& pool() const { return pool_; }
  const PrefixCacheStats& prefix_cache_stats() const { return pool_.stats(); }

 private:
  struct RequestBlocks {
    std::vector<int32_t> blocks;       // device block table
    std::vector<int32_t> host_blocks;  // while swapped out
    int32_t num_cached_blocks = 0;     // leading blocks in the prefix cache
    PrefixChain chain;                 // identity of those leading blocks
  };

  RequestBlocks& entry(uint64_t request_id);
  const RequestBlocks* find(uint64_t request_id) const;
  // A new entry, reusing the capacity of a forgotten one when possible.
  RequestBlocks& create(uint64_t request_id);
  void forget(uint64_t request_id);

  BlockPool pool_;
  int32_t block_size_;
  int32_t max_blocks_per_request_;
  bool prefix_caching_;
  int32_t num_host_blocks_;
  std::vector<int32_t> free_host_blocks_;  // a stack; the next one taken is at the back
  std::unordered_map<uint64_t, RequestBlocks> requests_;
  std::vector<RequestBlocks> spare_;  // forgotten entries, kept for their capacity
  std::vector<int32_t> hit_scratch_;  // blocks of the last PrefixHit
  // Bumped whenever blocks change hands, so a stale PrefixHit (whose blocks
  // may since have been evicted and reused) is caught instead of bound.
  uint64_t version_ = 0;
};

}  // namespace localmoe
