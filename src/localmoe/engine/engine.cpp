#include "localmoe/engine/engine.h"

#include <algorithm>

#include "localmoe/base/error.h"
#include "localmoe/base/logging.h"
#include "localmoe/engine/logprobs.h"
#include "localmoe/engine/token_ids.h"

namespace localmoe {
namespace {

double seconds_between(std::chrono::steady_clock::time_point from,
                       std::chrono::steady_clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace

Engine::Engine(Transformer& model, const Tokenizer* tokenizer, const EngineConfig& config,
               const KvCacheCapacity& capacity, DType kv_dtype, int64_t max_model_len,
               Allocator& allocator)
    : model_(model),
      tokenizer_(tokenizer),
      max_model_len_(max_model_len),
      capacity_tokens_(capacity.num_tokens()),
      kv_(model.kv_layout(kv_dtype), capacity.num_blocks, capacity.num_host_blocks, allocator),
      scheduler_(step_config(config), capacity, max_model_len, allocator),
      runner_(model, kv_, config.max_num_seqs, max_model_len),
      sampler_(model.kernels(), model.config().vocab_size) {
  LM_CHECK_EQ(capacity.block_size, model.block_size());
  step_choices_.reserve(static_cast<size_t>(config.max_num_seqs));
  outcomes_.reserve(static_cast<size_t>(config.max_num_seqs));
  stats_.kv_cache_bytes = kv_.total_bytes();
  stats_.kv_swap_bytes = kv_.host_bytes();
  stats_.scheduler = scheduler_.stats();
}

Engine::~Engine() {
  stop();
}

// A step never holds more tokens than the model's workspaces.
EngineConfig Engine::step_config(const EngineConfig& config) const {
  EngineConfig c = config;
  c.max_num_batched_tokens = std::min(c.max_num_batched_tokens, model_.max_batch_tokens());
  return c;
}

std::unique_ptr<Engine::Choice> Engine::make_choice(RequestId public_id, int64_t index,
                                                    std::shared_ptr<OutputStream> stream,
                                                    std::span<const int32_t> prompt,
                                                    const SamplingParams& params,
                                                    Clock::time_point arrival) const {
  const ModelConfig& config = model_.config();
  const int64_t room = max_model_len_ - static_cast<int64_t>(prompt.size());
  return std::unique_ptr<Choice>(new Choice{
      .public_id = public_id,
      .index = index,
      .stream = std::move(stream),
      .sampling = SamplingState(params, prompt, config.eos_token_ids, index),
      .stop =
          StopChecker(params, tokenizer_, config.eos_token_ids, std::min(params.max_tokens, room)),
      .arrival = arrival,
      .first_step = std::nullopt,
      .last_token = std::nullopt,
      .timings = {},
      .fork_prompt = {},
      .prompt_logprobs_done = 0,
  });
}

std::shared_ptr<OutputStream> Engine::add_request(std::vector<int32_t> prompt_token_ids,
                                                  const SamplingParams& params) {
  const int64_t vocab = model_.config().vocab_size;
  params.validate(vocab);
  if (tokenizer_ == nullptr && !params.stop.empty()) {
    throw make_error(ErrorKind::kInvalidArgument,
                     "stop: stop strings need the model's tokenizer, and this engine has none");
  }
  if (prompt_token_ids.empty())
    throw make_error(ErrorKind::kInvalidArgument, "the prompt is empty");
  validate_token_ids(prompt_token_ids, vocab, "prompt");
  const Clock::time_point arrival = Clock::now();

  std::shared_ptr<OutputStream> stream;
  {
    std::lock_guard lock(mutex_);
    const RequestId id = next_id_;
    Request& request = scheduler_.add_request(id, prompt_token_ids, params);
    next_id_ += params.n;
    stream = std::make_shared<OutputStream>(id, params.n);
    std::vector<RequestId>& ids = choice_ids_[id];
    for (int64_t i = 0; i < params.n; ++i) {
      const RequestId choice_id = id + static_cast<RequestId>(i);
      std::unique_ptr<Choice> choice =
          make_choice(id, i, stream, request.prompt_token_ids(), params, arrival);
      if (i > 0) {
        choice->fork_prompt.assign(request.prompt_token_ids().begin(),
                                   request.prompt_token_ids().end());
        pending_forks_.push_back({id, choice_id});
      }
      choices_[choice_id] = std::move(choice);
      ids.push_back(choice_id);
    }
    ++stats_.num_requests_added;
    log_debug("engine: request ", id, " added: ", prompt_token_ids.size(),
              " prompt tokens, n=", params.n, ", max_tokens=", params.max_tokens);
  }
  work_.notify_one();
  return stream;
}

void Engine::abort(RequestId id) {
  {
    std::lock_guard lock(mutex_);
    pending_aborts_.push_back(id);
  }
  work_.notify_one();
}

void Engine::finish_choice(RequestId id, Choice& choice, RequestOutput output) {
  const Clock::time_point now = Clock::now();
  choice.timings.finished = seconds_between(choice.arrival, now);
  output.timings = std::move(choice.timings);
  choice.stream->push(std::move(output));
  const RequestId public_id = choice.public_id;
  choices_.erase(id);
  auto it = choice_ids_.find(public_id);
  LM_CHECK(it != choice_ids_.end());
  std::erase(it->second, id);
  if (it->second.empty()) {
    choice_ids_.erase(it);
    ++stats_.num_requests_finished;
  }
}

void Engine::apply_aborts() {
  for (RequestId public_id : pending_aborts_) {
    auto ids = choice_ids_.find(public_id);
    if (ids == choice_ids_.end()) continue;
    const std::vector<RequestId> choice_ids = ids->second;
    for (RequestId id : choice_ids) {
      scheduler_.abort(id);
      std::erase_if(pending_forks_, [id](const PendingFork& f) { return f.child == id; });
      Choice& choice = *choices_.at(id);
      RequestOutput output;
      output.id = public_id;
      output.index = choice.index;
      output.finish_reason = FinishReason::kAbort;
      output.usage.completion_tokens = choice.stop.num_tokens();
      finish_choice(id, choice, std::move(output));
    }
    ++stats_.num_requests_aborted;
    log_debug("engine: request ", public_id, " aborted");
  }
  pending_aborts_.clear();
}

bool Engine::has_unfinished() const {
  std::lock_guard lock(mutex_);
  return scheduler_.has_unfinished() || !pending_aborts_.empty();
}

bool Engine::step() {
  std::unique_lock lock(mutex_);
  apply_aborts();
  if (!scheduler_.has_unfinished()) return false;
  const SchedulerOutput& output = scheduler_.schedule();
  if (output.empty()) return false;
  const Clock::time_point now = Clock::now();
  step_choices_.clear();
  for (const ScheduledRequest& scheduled : output.requests) {
    Choice* choice = choices_.at(scheduled.id).get();
    if (!choice->first_step) {
      choice->first_step = now;
      choice->timings.queued = seconds_between(choice->arrival, now);
    }
    step_choices_.push_back(choice);
  }
  lock.unlock();

  // The model runs without the lock: callers may add requests meanwhile.
  runner_.execute(output);
  process_step(output, step_choices_);

  lock.lock();
  scheduler_.update_from_output(outcomes_);
  for (size_t i = 0; i < output.requests.size(); ++i) {
    RequestOutput& delta = deltas_[i];
    if (!outcomes_[i].token && delta.prompt_logprobs.empty()) continue;
    Choice& choice = *step_choices_[i];
    if (delta.finish_reason) {
      finish_choice(output.requests[i].id, choice, std::move(delta));
    } else {
      choice.stream->push(std::move(delta));
    }
  }
  fork_children();
  ++stats_.num_steps;
  stats_.scheduler = scheduler_.stats();
  return true;
}

void Engine::process_step(const SchedulerOutput& output, std::span<Choice* const> choices) {
  outcomes_.assign(output.requests.size(), StepOutcome{});
  deltas_.resize(output.requests.size());
  for (size_t i = 0; i < output.requests.size(); ++i) {
    const ScheduledRequest& scheduled = output.requests[i];
    Choice& choice = *choices[i];
    RequestOutput& delta = deltas_[i];
    delta = RequestOutput{};
    delta.id = choice.public_id;
    delta.index = choice.index;
    add_prompt_logprobs(scheduled, i, choice, delta);
    if (!scheduled.samples) continue;
    float* row = runner_.sample_row(i);
    LM_CHECK(row != nullptr);
    // The first token of a request with n > 1: its other choices sample
    // from the same row, which sampling consumes.
    if (choice.index == 0 && choice.stop.num_tokens() == 0 &&
        std::any_of(pending_forks_.begin(), pending_forks_.end(),
                    [&](const PendingFork& f) { return f.parent == scheduled.id; })) {
      fork_rows_.emplace_back(scheduled.id, std::vector<float>(row, row + runner_.vocab_size()));
    }
    const SampledToken sampled = sampler_.sample(row, choice.sampling);
    const StopStep stop = choice.stop.add(sampled.token_id);
    outcomes_[i].token = sampled.token_id;

    const Clock::time_point now = Clock::now();
    if (choice.last_token) {
      choice.timings.inter_token.push_back(seconds_between(*choice.last_token, now));
    } else {
      choice.timings.first_token = seconds_between(choice.arrival, now);
    }
    choice.last_token = now;

    delta.token_ids.push_back(sampled.token_id);
    delta.text = stop.text;
    if (sampled.logprobs) delta.logprobs.push_back(*sampled.logprobs);
    delta.usage.prompt_tokens = scheduled.request->num_prompt_tokens();
    delta.usage.completion_tokens = choice.stop.num_tokens();
    delta.usage.cached_prompt_tokens = scheduled.request->num_cached_prompt_tokens();
    if (stop.finish) {
      outcomes_[i].finish = stop.finish->reason;
      delta.finish_reason = stop.finish->reason;
      delta.stop_token_id = stop.finish->stop_token_id;
      if (stop.finish->stop_string_index) {
        delta.stop_string =
            scheduled.request->sampling_params().stop[*stop.finish->stop_string_index];
      }
    }
  }
}

void Engine::add_prompt_logprobs(const ScheduledRequest& scheduled, size_t index, Choice& choice,
                                 RequestOutput& delta) {
  const std::optional<int64_t> num_top = scheduled.request->sampling_params().prompt_logprobs;
  const std::span<float> rows = runner_.prompt_rows(index);
  if (!num_top || choice.index != 0 || rows.empty()) return;
  const int64_t vocab = runner_.vocab_size();
  const std::span<const int32_t> tokens = scheduled.request->token_ids();
  const auto num_rows = static_cast<int64_t>(rows.size()) / vocab;
  for (int64_t r = 0; r < num_rows; ++r) {
    // Row r sits at position num_computed_tokens + r and predicts the next token.
    const int64_t predicted = scheduled.num_computed_tokens + r + 1;
    if (predicted <= choice.prompt_logprobs_done) continue;  // streamed before a preemption
    delta.prompt_logprobs.push_back(compute_logprobs(model_.kernels(), rows.data() + r * vocab,
                                                     vocab, tokens[static_cast<size_t>(predicted)],
                                                     *num_top));
    choice.prompt_logprobs_done = predicted;
  }
}

// Each other choice of a request with n > 1 samples its own first token from
// the parent's first row, then continues as a fork that shares the prompt's
// blocks. When the fork cannot be made (the parent already finished, or no
// block or sequence slot is free), the choice runs as a request of its own,
// whose prompt the prefix cache mostly holds.
void Engine::fork_children() {
  for (auto& [parent, row] : fork_rows_) {
    const Request* parent_request = scheduler_.find(parent);
    for (auto it = pending_forks_.begin(); it != pending_forks_.end();) {
      if (it->parent != parent) {
        ++it;
        continue;
      }
      const RequestId child = it->child;
      it = pending_forks_.erase(it);
      Choice& choice = *choices_.at(child);
      std::vector<float> logits = row;
      const SampledToken sampled = sampler_.sample(logits.data(), choice.sampling);
      const StopStep stop = choice.stop.add(sampled.token_id);
      RequestOutput delta;
      delta.id = choice.public_id;
      delta.index = choice.index;
      delta.token_ids.push_back(sampled.token_id);
      delta.text = stop.text;
      if (sampled.logprobs) delta.logprobs.push_back(*sampled.logprobs);
      if (parent_request != nullptr) {
        delta.usage.prompt_tokens = parent_request->num_prompt_tokens();
        delta.usage.cached_prompt_tokens = parent_request->num_cached_prompt_tokens();
      }
      delta.usage.completion_tokens = 1;
      const Clock::time_point now = Clock::now();
      choice.first_step = choice.first_step.value_or(now);
      choice.timings.first_token = seconds_between(choice.arrival, now);
      choice.last_token = now;
      if (stop.finish) {
        delta.finish_reason = stop.finish->reason;
        delta.stop_token_id = stop.finish->stop_token_id;
        if (stop.finish->stop_string_index) {
          delta.stop_string = choice.sampling.params().stop[*stop.finish->stop_string_index];
        }
        finish_choice(child, choice, std::move(delta));
        continue;
      }
      const bool parent_running =
          parent_request != nullptr && parent_request->status() == RequestStatus::kRunning;
      if (parent_running && scheduler_.fork(parent, child, sampled.token_id)) {
        choice.stream->push(std::move(delta));
        continue;
      }
      // Start over as a request of its own; nothing was streamed for it yet.
      const std::vector<int32_t> prompt = std::move(choice.fork_prompt);
      const SamplingParams params = choice.sampling.params();
      std::unique_ptr<Choice> fresh = make_choice(choice.public_id, choice.index, choice.stream,
                                                  prompt, params, choice.arrival);
      scheduler_.add_request(child, prompt, params);
      choices_[child] = std::move(fresh);
      log_debug("engine: choice ", child, " of request ", parent, " runs on its own (no fork)");
    }
  }
  fork_rows_.clear();
}

void Engine::start() {
  LM_CHECK(!thread_.joinable());
  stopping_ = false;
  thread_ = std::thread([this] { run_loop(); });
}

void Engine::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  work_.notify_all();
  thread_.join();
}

void Engine::run_loop() {
  while (!stopping_) {
    if (step()) continue;
    std::unique_lock lock(mutex_);
    work_.wait(
        lock, [&] { return stopping_ || scheduler_.has_unfinished() || !pending_aborts_.empty(); });
  }
}

EngineStats Engine::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace localmoe
