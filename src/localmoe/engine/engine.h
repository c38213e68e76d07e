#pragma once
// The batching engine: one scheduler, one paged KV cache and one model,
// driven one step at a time — by its own thread (start()), which sleeps when
// idle, or by the caller (step(), for offline batches, tests and benchmarks).
// Any thread may add or abort requests; each request's tokens, text deltas,
// finish reason, usage and timings arrive on its OutputStream.
//
//   add_request ─► Scheduler::schedule ─► ModelRunner (copies, Batch, forward)
//        ▲              ─► Sampler ─► StopChecker ─► OutputStream (per choice)
//        └──────────── Scheduler::update_from_output ◄─┘

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "localmoe/base/allocator.h"
#include "localmoe/config/config.h"
#include "localmoe/engine/model_runner.h"
#include "localmoe/engine/output_stream.h"
#include "localmoe/engine/sampler.h"
#include "localmoe/engine/scheduler.h"
#include "localmoe/engine/stop_checker.h"
#include "localmoe/kv/kv_cache_budget.h"
#include "localmoe/kv/kv_storage.h"
#include "localmoe/model/transformer.h"
#include "localmoe/tokenizer/tokenizer.h"

namespace localmoe {

// A snapshot for /v1/stats, /metrics and progress lines.
struct EngineStats {
  SchedulerStats scheduler;
  int64_t num_steps = 0;
  int64_t num_requests_added = 0;
  int64_t num_requests_finished = 0;  // every choice done, aborted ones included
  int64_t num_requests_aborted = 0;
  int64_t kv_cache_bytes = 0;  // device KV storage, exact
  int64_t kv_swap_bytes = 0;   // host swap area, exact
};

class Engine {
 public:
  // `model` (with max_batch_tokens() >= the step budget), `tokenizer` (may be
  // null: then no text, and stop strings are refused) and `allocator` must
  // outlive the engine. `capacity` comes from plan_kv_cache; `max_model_len`
  // is engine.max_model_len resolved against the model.
  Engine(Transformer& model, const Tokenizer* tokenizer, const EngineConfig& config,
         const KvCacheCapacity& capacity, DType kv_dtype, int64_t max_model_len,
         Allocator& allocator);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Queues a request with params.n choices. Throws Error(kInvalidArgument)
  // naming the field for bad parameters, token ids outside the vocabulary,
  // or a prompt that can never fit (max_model_len or the whole KV cache).
  std::shared_ptr<OutputStream> add_request(std::vector<int32_t> prompt_token_ids,
                                            const SamplingParams& params);
  // Ends a request (every choice) at the start of the next step; its blocks
  // return to the pool then, and its stream gets a final "abort" output.
  // Unknown or finished ids are ignored.
  void abort(RequestId id);

  // Runs steps on a thread of the engine's own until stop().
  void start();
  void stop();
  // One step on the calling thread (never while start()ed); false when there
  // was nothing to do.
  bool step();
  bool has_unfinished() const;

  EngineStats stats() const;
  const Transformer& model() const { return model_; }
  int64_t max_model_len() const { return max_model_len_; }

 private:
  using Clock = std::chrono::steady_clock;

  // One choice of a request: what sampling and stopping need between steps.
  struct Choice {
    RequestId public_id;  // the id its stream answers to
    int64_t index;        // of params.n
    std::shared_ptr<OutputStream> stream;
    SamplingState sampling;
    StopChecker stop;
    Clock::time_point arrival;
    std::optional<Clock::time_point> first_step;
    std::optional<Clock::time_point> last_token;
    RequestTimings timings;
    std::vector<int32_t> fork_prompt;  // choices after the first, until forked
    int64_t prompt_logprobs_done = 0;  // prompt tokens whose logprobs were streamed
  };
  // A choice still to fork from its parent once the parent samples.
  struct PendingFork {
    RequestId parent;
    RequestId child;
  };

  EngineConfig step_config(const EngineConfig& config) const;
  std::unique_ptr<Choice> make_choice(RequestId public_id, int64_t index,
                                      std::shared_ptr<OutputStream> stream,
                                      std::span<const int32_t> prompt, const SamplingParams& params,
                                      Clock::time_point arrival) const;
  void apply_aborts();
  // Samples, checks stops and streams the outputs of one executed step.
  void process_step(const SchedulerOutput& output, std::span<Choice* const> choices);
  // The logprobs of the prompt tokens this step's rows predict, once each.
  void add_prompt_logprobs(const ScheduledRequest& scheduled, size_t index, Choice& choice,
                           RequestOutput& delta);
  // Samples the first token of each pending fork from its parent's row.
  void fork_children();
  void finish_choice(RequestId id, Choice& choice, RequestOutput output);
  void run_loop();

  Transformer& model_;
  const Tokenizer* tokenizer_;
  int64_t max_model_len_;
  int64_t capacity_tokens_;
  KvStorage kv_;
  Scheduler scheduler_;
  ModelRunner runner_;
  Sampler sampler_;

  // Guards the scheduler, the choices and the queued aborts between the
  // engine thread and callers; not held while the model runs.
  mutable std::mutex mutex_;
  std::condition_variable work_;
  std::unordered_map<RequestId, std::unique_ptr<Choice>> choices_;
  std::unordered_map<RequestId, std::vector<RequestId>> choice_ids_;  // public id -> choices
  std::vector<PendingFork> pending_forks_;
  std::vector<RequestId> pending_aborts_;
  RequestId next_id_ = 1;
  EngineStats stats_;

  // Per-step scratch, reused.
  std::vector<Choice*> step_choices_;
  std::vector<StepOutcome> outcomes_;
  std::vector<RequestOutput> deltas_;  // per scheduled request
  // Parents that sampled their first token this step, with that row's
  // logits before sampling consumed them.
  std::vector<std::pair<RequestId, std::vector<float>>> fork_rows_;

  std::thread thread_;
  std::atomic<bool> stopping_{false};
};

}  // namespace localmoe
