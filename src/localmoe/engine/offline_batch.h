#pragma once
// Many requests through one engine on the calling thread, as `generate
// --input` and `bench throughput` run them: every request is queued up front
// (the scheduler admits them first come, first served within max_num_seqs
// and the step's token budget), then steps run until all are finished; each
// request's stream is drained after every step, so none holds more than one
// step of deltas.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "localmoe/engine/completion.h"
#include "localmoe/engine/engine.h"

namespace localmoe {

class OfflineBatch {
 public:
  // `engine` must not run its own thread (start()) while the batch runs.
  explicit OfflineBatch(Engine& engine) : engine_(engine) {}

  // Queues one request and returns its index among this batch's requests.
  // Throws what Engine::add_request throws (the request is then not queued).
  size_t add(std::vector<int32_t> prompt_token_ids, const SamplingParams& params);

  // Steps until every queued request finished, calling `after_step` (if set)
  // after each step.
  void run(const std::function<void(const OfflineBatch&)>& after_step = {});

  size_t size() const { return completions_.size(); }
  const Completion& completion(size_t index) const { return completions_[index]; }
  int64_t num_finished() const { return num_finished_; }
  int64_t num_generated_tokens() const { return num_generated_tokens_; }

 private:
  void drain(size_t index);

  Engine& engine_;
  std::vector<std::shared_ptr<OutputStream>> streams_;
  std::vector<Completion> completions_;
  std::vector<bool> finished_;
  int64_t num_finished_ = 0;
  int64_t num_generated_tokens_ = 0;
};

}  // namespace localmoe
