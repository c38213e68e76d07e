#pragma once
// The continuous-batching scheduler: a single-threaded, deterministic state
// machine over the requests and the KV cache. Each step it first gives every
// running request its next tokens (1 for a decode, the next chunk for a
// prefill), then admits waiting requests first come, first served, within
// engine.max_num_seqs sequences and engine.max_num_batched_tokens tokens.
// When a running request needs a block and none is free, the most recently
// arrived running request is preempted: swapped to the host area when that
// is cheaper (kMinTokensToSwap), else freed to be recomputed later. It never
// runs the model nor decides stops: the engine runs SchedulerOutput and
// reports each request's sampled token and finish decision back.
//
//   add_request() ... schedule() -> SchedulerOutput -> (engine: copies, forward,
//   sampling, stop checks) -> update_from_output() -> schedule() ...

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "localmoe/base/allocator.h"
#include "localmoe/config/config.h"
#include "localmoe/engine/request.h"
#include "localmoe/engine/scheduler_output.h"
#include "localmoe/kv/block_hash.h"
#include "localmoe/kv/kv_cache_budget.h"
#include "localmoe/kv/kv_cache_manager.h"

namespace localmoe {

// The preemption cost rule. Swapping moves a sequence's KV twice (out, then
// back in); recomputing runs its tokens again as a prefill, minus the blocks
// the prefix cache still holds. A step is bound by reading the weights until
// it batches tens of tokens (CPU) to hundreds (GPU), so a short recompute rides
// along with the decodes almost free and keeps the host area for long
// sequences; past that, each recomputed token costs a share of a full forward
// while a swapped one costs two copies of a few hundred kilobytes. So: swap
// when at least this many tokens would be recomputed and the host area has
// room for all the request's blocks; recompute otherwise.
inline constexpr int64_t kMinTokensToSwap = 64;

// A request that returns prompt logprobs needs one logits row per prompt
// token it prefills; its chunks are capped at this many tokens so those rows
// stay a bounded buffer (rows x vocabulary floats). Its prompt is also
// computed rather than taken from the prefix cache, whose blocks hold keys
// and values but no logits.
inline constexpr int64_t kMaxPromptLogprobsChunk = 256;

// What the engine made of one scheduled request; update_from_output takes one
// per SchedulerOutput::requests entry, in the same order.
struct StepOutcome {
  // The sampled token: set exactly when the entry's `samples` is true.
  std::optional<int32_t> token;
  // The engine's stop decision (EOS, stop string, max_tokens...) after
  // appending `token`; never kAbort (use Scheduler::abort).
  std::optional<FinishReason> finish;
};

// Counters for /v1/stats and /metrics.
struct SchedulerStats {
  int64_t num_running = 0;
  int64_t num_waiting = 0;  // never run, or preempted to recompute
  int64_t num_swapped = 0;  // preempted to the host area
  int64_t num_preemptions = 0;
  int64_t num_swap_preemptions = 0;  // of which by swapping
  int64_t num_prompt_tokens = 0;     // prompt tokens of every request added
  int64_t num_computed_tokens = 0;   // tokens run through the model (prefill, recompute, decode)
  int64_t num_generated_tokens = 0;  // tokens sampled and appended
  int64_t num_blocks = 0;
  int64_t num_free_blocks = 0;
  int64_t num_host_blocks = 0;
  int64_t num_free_host_blocks = 0;
  double kv_usage = 0.0;  // fraction of device blocks held by requests
  PrefixCacheStats prefix_cache;
};

class Scheduler {
 public:
  // `config` is a validated EngineConfig (its budgets, block_size, prefix
  // caching and chunked prefill settings are read here); `capacity` comes from
  // plan_kv_cache; `max_model_len` is engine.max_model_len resolved against
  // the model. The block pool's metadata comes from `allocator`.
  Scheduler(const EngineConfig& config, const KvCacheCapacity& capacity, int64_t max_model_len,
            Allocator& allocator, BlockHashFn hash = hash_block_tokens);

  // Queues a request. Throws Error(kInvalidArgument) when the id is in use, the
  // prompt is empty, max_tokens < 1, or the request can never fit: prompt plus
  // max_tokens beyond max_model_len or beyond the blocks of the whole cache.
  Request& add_request(RequestId id, std::vector<int32_t> prompt_token_ids,
                       const SamplingParams& params);

  // Ends a request in any state and frees all its blocks at once. Between
  // schedule() and update_from_output() the request's entry in the output is
  // then skipped by update_from_output (the freed blocks are not handed out
  // before the next schedule(), so running the entry harms nothing). False when
  // the id is unknown or already finished.
  bool abort(RequestId id);

  // One step's decisions. Call update_from_output before the next schedule().
  const SchedulerOutput& schedule();

  // Applies the step: advances computed tokens, caches the blocks they filled,
  // appends sampled tokens, and finishes (and frees at once) requests the
  // engine stopped. A request reaching max_tokens must be stopped by the
  // engine (FinishReason::kLength).
  void update_from_output(std::span<const StepOutcome> outcomes);

  // For n > 1: after a step that sampled the parent's latest token, adds
  // `child` as a running copy of `parent` whose latest token is
  // `child_last_token` instead. Full blocks are shared; a partly filled last
  // block is copied by the next output's copy_blocks. False when no block is
  // free for that copy or max_num_seqs are running. Throws
  // Error(kInvalidArgument) when `child` is in use.
  bool fork(RequestId parent, RequestId child, int32_t child_last_token);

  bool has_unfinished() const { return !running_.empty() || !waiting_.empty(); }
  // A live request, or one finished since the last schedule(); else nullptr.
  const Request* find(RequestId id) const;
  Request* find(RequestId id);

  SchedulerStats stats() const;
  const KvCacheManager& kv_cache() const { return kv_; }
  int64_t max_model_len() const { return max_model_len_; }

 private:
  // Tokens to run for `request` from its `computed` tokens on, within
  // `limit` tokens of budget; 0 when it cannot run this step.
  int64_t tokens_to_schedule(const Request& request, int64_t computed, int64_t limit) const;
  // Admits a waiting, preempted or swapped request into this step; false when
  // it does not fit (nothing changes then).
  bool admit(Request& request, int64_t& token_budget);
  void add_scheduled(Request& request, int64_t num_tokens, std::span<const int32_t> block_table);
  void preempt(Request& request);
  void finish(Request& request, RequestStatus status);
  void insert_running(Request& request);
  void insert_waiting(Request& request);

  int64_t max_num_seqs_;
  int64_t max_num_batched_tokens_;
  bool chunked_prefill_;
  int64_t chunk_tokens_;  // per-request prefill chunk cap
  int64_t max_model_len_;
  KvCacheManager kv_;

  std::unordered_map<RequestId, std::unique_ptr<Request>> requests_;
  std::vector<Request*> running_;  // arrival order
  std::vector<Request*> waiting_;  // arrival order: waiting, preempted and swapped
  SchedulerOutput out_;
  std::vector<BlockCopy> pending_copies_;  // forks since the last schedule()
  std::vector<RequestId> finished_since_;  // finished since the last schedule()
  std::vector<RequestId> doomed_;          // finished requests dropped at the next schedule()
  bool in_flight_ = false;                 // between schedule() and update_from_output()
  int64_t next_arrival_ = 0;

  int64_t num_swapped_ = 0;
  int64_t num_preemptions_ = 0;
  int64_t num_swap_preemptions_ = 0;
  int64_t num_prompt_tokens_ = 0;
  int64_t num_computed_tokens_ = 0;
  int64_t num_generated_tokens_ = 0;
};

}  // namespace localmoe
