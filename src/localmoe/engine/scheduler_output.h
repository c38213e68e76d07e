#pragma once
// What one scheduler step decided, as plain data for the ModelRunner: which
// requests run which tokens over which blocks, and the block copies to carry
// out first. The buffers are the scheduler's, reused every step; spans and
// pointers stay valid until the next schedule() (or an abort or fork).
//
// The engine runs, in this order: copy_blocks, swap_out, swap_in (all on
// KvStorage), then the forward pass over `requests`.

#include <cstdint>
#include <span>
#include <vector>

#include "localmoe/engine/request.h"
#include "localmoe/kv/block_copy.h"

namespace localmoe {

struct ScheduledRequest {
  Request* request = nullptr;  // token ids and sampling params
  RequestId id = 0;
  // Tokens before this step: the first scheduled token sits at this position.
  int64_t num_computed_tokens = 0;
  // Tokens [num_computed_tokens, num_computed_tokens + num_scheduled_tokens) of
  // request->token_ids() run this step.
  int64_t num_scheduled_tokens = 0;
  // The request's blocks: position p lives in slot p % block_size of block
  // block_table[p / block_size]; covers every scheduled position.
  std::span<const int32_t> block_table;
  // This step reaches the last known token, so its logits give a new token
  // (false for a prefill chunk that leaves prompt tokens for later steps).
  bool samples = false;
};

struct SchedulerOutput {
  // Running requests first (arrival order), then the ones admitted this step.
  std::vector<ScheduledRequest> requests;
  int64_t num_scheduled_tokens = 0;    // sum over requests
  std::vector<BlockCopy> copy_blocks;  // device -> device (a fork's partly filled block)
  std::vector<BlockCopy> swap_out;     // device src -> host dst, of requests preempted now
  std::vector<BlockCopy> swap_in;      // host src -> device dst, of requests resumed now
  std::vector<RequestId> preempted;    // preempted this step (recompute or swap)
  std::vector<RequestId> finished;     // finished or aborted since the previous step

  bool empty() const { return requests.empty(); }
};

}  // namespace localmoe
