#include "localmoe/engine/scheduler.h"

#include <algorithm>
#include <utility>

#include "localmoe/base/error.h"
#include "localmoe/base/logging.h"

namespace localmoe {
namespace {

KvCacheManagerOptions kv_options(const EngineConfig& config, const KvCacheCapacity& capacity,
                                 int64_t max_model_len, BlockHashFn hash) {
  LM_CHECK_EQ(capacity.block_size, config.block_size);
  LM_CHECK(capacity.num_blocks >= 1 && capacity.num_blocks <= kMaxKvBlocks);
  LM_CHECK(capacity.num_host_blocks >= 0 && capacity.num_host_blocks <= kMaxKvBlocks);
  LM_CHECK_GE(max_model_len, 1);
  KvCacheManagerOptions o;
  o.num_blocks = static_cast<int32_t>(capacity.num_blocks);
  o.num_host_blocks = static_cast<int32_t>(capacity.num_host_blocks);
  o.block_size = static_cast<int32_t>(config.block_size);
  o.max_blocks_per_request =
      static_cast<int32_t>(blocks_for_tokens(max_model_len, config.block_size));
  o.enable_prefix_caching = config.enable_prefix_caching;
  o.hash = hash;
  return o;
}

bool by_arrival(const Request* a, const Request* b) {
  return a->arrival_order() < b->arrival_order();
}

}  // namespace

Scheduler::Scheduler(const EngineConfig& config, const KvCacheCapacity& capacity,
                     int64_t max_model_len, Allocator& allocator, BlockHashFn hash)
    : max_num_seqs_(config.max_num_seqs),
      max_num_batched_tokens_(config.max_num_batched_tokens),
      chunked_prefill_(config.enable_chunked_prefill),
      chunk_tokens_(config.max_chunked_prefill_tokens > 0 ? config.max_chunked_prefill_tokens
                                                          : config.max_num_batched_tokens),
      max_model_len_(max_model_len),
      kv_(kv_options(config, capacity, max_model_len, hash), allocator) {
  // Guaranteed by config validation: every running request gets at least its
  // decode token, and an unchunked prompt (or recompute) fits in one step.
  LM_CHECK_GE(max_num_batched_tokens_, max_num_seqs_);
  LM_CHECK(chunked_prefill_ || max_num_batched_tokens_ >= max_model_len_);
  // Steady-state steps reuse these buffers without growing them.
  running_.reserve(max_num_seqs_);
  out_.requests.reserve(max_num_seqs_);
  out_.preempted.reserve(max_num_seqs_);
  out_.finished.reserve(max_num_seqs_);
  finished_since_.reserve(max_num_seqs_);
  doomed_.reserve(max_num_seqs_);
  out_.copy_blocks.reserve(max_num_seqs_);
  pending_copies_.reserve(max_num_seqs_);
  out_.swap_out.reserve(kv_.num_blocks());
  out_.swap_in.reserve(kv_.num_blocks());
  requests_.reserve(max_num_seqs_);
}

// ---- requests in and out --------------------------------------------------------

Request& Scheduler::add_request(RequestId id, std::vector<int32_t> prompt_token_ids,
                                const SamplingParams& params) {
  const int64_t prompt = static_cast<int64_t>(prompt_token_ids.size());
  if (requests_.contains(id)) {
    throw make_error(ErrorKind::kInvalidArgument, "request ", id, ": the id is already in use");
  }
  if (prompt == 0) {
    throw make_error(ErrorKind::kInvalidArgument, "request ", id,
                     ": the prompt is empty; at least one token is needed");
  }
  if (params.max_tokens < 1) {
    throw make_error(ErrorKind::kInvalidArgument, "request ", id, ": max_tokens must be >= 1, got ",
                     params.max_tokens);
  }
  if (prompt > max_model_len_) {
    throw make_error(ErrorKind::kInvalidArgument, "request ", id, ": the prompt has ", prompt,
                     " tokens, more than engine.max_model_len (", max_model_len_, ")");
  }
  const int64_t longest = prompt + params.max_tokens;
  if (longest > max_model_len_) {
    throw make_error(ErrorKind::kInvalidArgument, "request ", id, ": the prompt's ", prompt,
                     " tokens plus max_tokens ", params.max_tokens, " make ", longest,
                     " tokens, more than engine.max_model_len (", max_model_len_,
                     "); max_tokens can be at most ", max_model_len_ - prompt);
  }
  const int64_t blocks = kv_.blocks_for_tokens(longest);
  if (blocks > kv_.num_blocks()) {
    throw make_error(ErrorKind::kInvalidArgument, "request ", id, ": its ", longest,
                     " tokens (prompt plus max_tokens) need ", blocks, " KV blocks of ",
                     kv_.block_size(), " tokens, more than the whole cache holds (",
                     kv_.num_blocks(), " blocks)");
  }
  auto request =
      std::make_unique<Request>(id, std::move(prompt_token_ids), params, next_arrival_++);
  Request& r = *request;
  requests_.emplace(id, std::move(request));
  waiting_.push_back(&r);  // the latest arrival: waiting_ stays in arrival order
  num_prompt_tokens_ += prompt;
  log_at(LogLevel::kDebug, "scheduler: request ", id, " queued (", prompt,
         " prompt tokens, max_tokens ", params.max_tokens, ")");
  return r;
}

bool Scheduler::abort(RequestId id) {
  Request* r = find(id);
  if (r == nullptr || r->is_finished()) return false;
  log_at(LogLevel::kDebug, "scheduler: request ", id, " aborted while ",
         request_status_name(r->status()));
  finish(*r, RequestStatus::kFinishedAborted);
  return true;
}

void Scheduler::finish(Request& request, RequestStatus status) {
  if (request.status() == RequestStatus::kRunning) {
    running_.erase(std::find(running_.begin(), running_.end(), &request));
  } else {
    waiting_.erase(std::find(waiting_.begin(), waiting_.end(), &request));
    if (request.status() == RequestStatus::kSwapped) --num_swapped_;
  }
  kv_.free(request.id());
  request.status_ = status;
  finished_since_.push_back(request.id());
  doomed_.push_back(request.id());
}

const Request* Scheduler::find(RequestId id) const {
  const auto it = requests_.find(id);
  return it == requests_.end() ? nullptr : it->second.get();
}

Request* Scheduler::find(RequestId id) {
  const auto it = requests_.find(id);
  return it == requests_.end() ? nullptr : it->second.get();
}

void Scheduler::insert_running(Request& request) {
  running_.insert(std::upper_bound(running_.begin(), running_.end(), &request, by_arrival),
                  &request);
}

void Scheduler::insert_waiting(Request& request) {
  waiting_.insert(std::upper_bound(waiting_.begin(), waiting_.end(), &request, by_arrival),
                  &request);
}

// ---- one step -------------------------------------------------------------------

int64_t Scheduler::tokens_to_schedule(const Request& request, int64_t computed,
                                      int64_t limit) const {
  const int64_t remaining = request.num_tokens() - computed;
  LM_CHECK_GT(remaining, 0);
  const bool prompt_logprobs = request.sampling_params().prompt_logprobs.has_value() &&
                               computed < request.num_prompt_tokens();
  const int64_t chunk =
      prompt_logprobs ? std::min(chunk_tokens_, kMaxPromptLogprobsChunk) : chunk_tokens_;
  if (!chunked_prefill_ && !prompt_logprobs) return remaining <= limit ? remaining : 0;
  return std::max<int64_t>(0, std::min({remaining, chunk, limit}));
}

void Scheduler::add_scheduled(Request& request, int64_t num_tokens,
                              std::span<const int32_t> block_table) {
  const bool samples = request.num_computed_tokens() + num_tokens == request.num_tokens();
  out_.requests.push_back(ScheduledRequest{&request, request.id(), request.num_computed_tokens(),
                                           num_tokens, block_table, samples});
  out_.num_scheduled_tokens += num_tokens;
  log_at(LogLevel::kDebug, "scheduler: request ", request.id(), " runs tokens [",
         request.num_computed_tokens(), ", ", request.num_computed_tokens() + num_tokens, ") of ",
         request.num_tokens(), " over ", block_table.size(), " blocks",
         (samples ? ", samples" : ""));
}

const SchedulerOutput& Scheduler::schedule() {
  LM_CHECK(!in_flight_);
  in_flight_ = true;
  for (RequestId id : doomed_) requests_.erase(id);
  doomed_.clear();
  out_.requests.clear();
  out_.num_scheduled_tokens = 0;
  out_.swap_out.clear();
  out_.swap_in.clear();
  out_.preempted.clear();
  out_.finished.swap(finished_since_);
  finished_since_.clear();
  out_.copy_blocks.swap(pending_copies_);
  pending_copies_.clear();

  int64_t budget = max_num_batched_tokens_;
  // Running requests in arrival order. Each leaves one token of budget for
  // every running request after it, so a long prefill chunk never starves a
  // decode; victims of preemption come from the back (the latest arrivals),
  // which are not scheduled yet this step.
  for (size_t i = 0; i < running_.size(); ++i) {
    Request& r = *running_[i];
    const int64_t reserved = static_cast<int64_t>(running_.size() - i - 1);
    const int64_t n = tokens_to_schedule(r, r.num_computed_tokens(), budget - reserved);
    if (n == 0) {
      log_at(LogLevel::kDebug, "scheduler: request ", r.id(), " waits for token budget");
      continue;
    }
    while (true) {
      const auto table = kv_.allocate_slots(r.id(), r.num_computed_tokens() + n);
      if (table) {
        add_scheduled(r, n, *table);
        budget -= n;
        break;
      }
      Request& victim = *running_.back();
      running_.pop_back();
      preempt(victim);
      if (&victim == &r) break;
    }
  }

  // Waiting requests first come, first served; none after a preemption (the
  // blocks are short) and none past the first that does not fit.
  if (out_.preempted.empty()) {
    size_t admitted = 0;
    while (admitted < waiting_.size() && static_cast<int64_t>(running_.size()) < max_num_seqs_ &&
           budget > 0 && admit(*waiting_[admitted], budget)) {
      ++admitted;
    }
    waiting_.erase(waiting_.begin(), waiting_.begin() + static_cast<std::ptrdiff_t>(admitted));
  }
  // Swap-ins only run in steps without preemption, so a host block freed by a
  // swap-in is never the target of a swap-out in the same step.
  LM_CHECK(out_.swap_out.empty() || out_.swap_in.empty());
  return out_;
}

bool Scheduler::admit(Request& r, int64_t& budget) {
  std::span<const int32_t> table;
  int64_t n = 0;
  if (r.status() == RequestStatus::kSwapped) {
    n = tokens_to_schedule(r, r.num_computed_tokens(), budget);
    if (n == 0 || !kv_.swap_in(r.id(), r.num_computed_tokens() + n, out_.swap_in)) return false;
    table = kv_.block_table(r.id());
    --num_swapped_;
    log_at(LogLevel::kDebug, "scheduler: request ", r.id(), " swapped back in (", table.size(),
           " blocks)");
  } else {
    // Prompt logprobs come from logits, which cached blocks do not keep;
    // once the request generates, they were all returned.
    const bool needs_logits =
        r.sampling_params().prompt_logprobs.has_value() && r.num_output_tokens() == 0;
    const PrefixHit hit = needs_logits ? PrefixHit{} : kv_.get_computed_blocks(r.token_ids());
    LM_CHECK_EQ(r.num_computed_tokens(), int64_t{0});
    n = tokens_to_schedule(r, hit.num_tokens, budget);
    if (n == 0) return false;
    const auto allocated = kv_.allocate_slots(r.id(), hit.num_tokens + n, hit);
    if (!allocated) {
      log_at(LogLevel::kDebug, "scheduler: request ", r.id(), " waits for blocks (",
             kv_.num_free_blocks(), " free)");
      return false;
    }
    table = *allocated;
    r.num_computed_tokens_ = hit.num_tokens;
    if (!r.admitted_before_) {
      r.num_cached_prompt_tokens_ = std::min(hit.num_tokens, r.num_prompt_tokens());
      r.admitted_before_ = true;
    }
    log_at(LogLevel::kDebug, "scheduler: request ", r.id(), " admitted, ", hit.num_tokens,
           " tokens from the prefix cache");
  }
  r.status_ = RequestStatus::kRunning;
  insert_running(r);
  add_scheduled(r, n, table);
  budget -= n;
  return true;
}

void Scheduler::preempt(Request& r) {
  const int64_t recompute = r.num_computed_tokens() - kv_.num_cached_tokens(r.id());
  const bool swap =
      recompute >= kMinTokensToSwap &&
      static_cast<int64_t>(kv_.block_table(r.id()).size()) <= kv_.num_free_host_blocks() &&
      kv_.swap_out(r.id(), out_.swap_out);
  if (swap) {
    r.status_ = RequestStatus::kSwapped;
    ++num_swapped_;
    ++num_swap_preemptions_;
  } else {
    kv_.free(r.id());
    r.num_computed_tokens_ = 0;
    r.status_ = RequestStatus::kPreempted;
  }
  ++num_preemptions_;
  ++r.num_preemptions_;
  insert_waiting(r);
  out_.preempted.push_back(r.id());
  log_at(LogLevel::kDebug, "scheduler: request ", r.id(), " preempted by ",
         (swap ? "swap" : "recompute"), " (", r.num_computed_tokens(), " tokens computed, ",
         recompute, " to recompute)");
}

void Scheduler::update_from_output(std::span<const StepOutcome> outcomes) {
  LM_CHECK(in_flight_);
  LM_CHECK_EQ(outcomes.size(), out_.requests.size());
  in_flight_ = false;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const ScheduledRequest& s = out_.requests[i];
    const StepOutcome& o = outcomes[i];
    Request& r = *s.request;
    if (r.is_finished()) continue;  // aborted after schedule()
    LM_CHECK_EQ(o.token.has_value(), s.samples);
    LM_CHECK(!o.finish || (o.token && *o.finish != FinishReason::kAbort));
    r.num_computed_tokens_ += s.num_scheduled_tokens;
    num_computed_tokens_ += s.num_scheduled_tokens;
    kv_.cache_computed_blocks(r.id(), r.token_ids(), r.num_computed_tokens());
    if (!o.token) continue;
    r.append_output_token(*o.token);
    ++num_generated_tokens_;
    if (o.finish) {
      log_at(LogLevel::kDebug, "scheduler: request ", r.id(), " finished (",
             finish_reason_name(*o.finish), ") after ", r.num_output_tokens(), " tokens");
      finish(r, *o.finish == FinishReason::kStop ? RequestStatus::kFinishedStopped
                                                 : RequestStatus::kFinishedLength);
    } else {
      // The engine stops a request at max_tokens; the scheduler never guesses.
      LM_CHECK_LT(r.num_output_tokens(), r.max_tokens());
    }
  }
}

bool Scheduler::fork(RequestId parent_id, RequestId child_id, int32_t child_last_token) {
  LM_CHECK(!in_flight_);
  if (requests_.contains(child_id)) {
    throw make_error(ErrorKind::kInvalidArgument, "request ", child_id,
                     ": the id is already in use");
  }
  Request* parent = find(parent_id);
  LM_CHECK(parent != nullptr && parent->status() == RequestStatus::kRunning);
  LM_CHECK_GT(parent->num_output_tokens(), 0);
  LM_CHECK_EQ(parent->num_computed_tokens(), parent->num_tokens() - 1);
  if (static_cast<int64_t>(running_.size()) >= max_num_seqs_) return false;
  const std::optional<ForkResult> forked =
      kv_.fork(parent_id, child_id, parent->num_computed_tokens());
  if (!forked) return false;

  const std::span<const int32_t> prompt = parent->prompt_token_ids();
  auto child =
      std::make_unique<Request>(child_id, std::vector<int32_t>(prompt.begin(), prompt.end()),
                                parent->sampling_params(), next_arrival_++);
  for (int32_t token : parent->output_token_ids()) child->append_output_token(token);
  child->replace_last_output_token(child_last_token);
  child->num_computed_tokens_ = parent->num_computed_tokens();
  child->num_cached_prompt_tokens_ = parent->num_cached_prompt_tokens();
  child->admitted_before_ = true;
  child->status_ = RequestStatus::kRunning;
  running_.push_back(child.get());  // the latest arrival
  requests_.emplace(child_id, std::move(child));
  if (forked->copy) pending_copies_.push_back(*forked->copy);
  log_at(LogLevel::kDebug, "scheduler: request ", child_id, " forked from ", parent_id,
         (forked->copy ? ", partial block copied" : ""));
  return true;
}

SchedulerStats Scheduler::stats() const {
  SchedulerStats s;
  s.num_running = static_cast<int64_t>(running_.size());
  s.num_swapped = num_swapped_;
  s.num_waiting = static_cast<int64_t>(waiting_.size()) - num_swapped_;
  s.num_preemptions = num_preemptions_;
  s.num_swap_preemptions = num_swap_preemptions_;
  s.num_prompt_tokens = num_prompt_tokens_;
  s.num_computed_tokens = num_computed_tokens_;
  s.num_generated_tokens = num_generated_tokens_;
  s.num_blocks = kv_.num_blocks();
  s.num_free_blocks = kv_.num_free_blocks();
  s.num_host_blocks = kv_.num_host_blocks();
  s.num_free_host_blocks = kv_.num_free_host_blocks();
  s.kv_usage = kv_.usage();
  s.prefix_cache = kv_.prefix_cache_stats();
  return s;
}

}  // namespace localmoe
