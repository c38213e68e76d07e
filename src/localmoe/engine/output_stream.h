#pragma once
// What a request produces, as the engine hands it out: deltas (new token
// ids, the text that became final, logprobs) ending with one that carries the
// finish reason, usage and timings. An OutputStream is the one channel from
// the engine thread to whoever waits for a request (an HTTP handler, the
// offline batch runner): the engine pushes; the consumer blocks in next(),
// or, when it must not block (an HTTP connection's thread), is told by the
// on-ready callback that try_next() has something.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "localmoe/engine/logprobs.h"
#include "localmoe/engine/request.h"

namespace localmoe {

struct RequestUsage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cached_prompt_tokens = 0;  // prompt tokens found in the prefix cache
};

// Seconds, measured from the request's arrival in the engine.
struct RequestTimings {
  double queued = 0.0;       // until its first step ran
  double first_token = 0.0;  // until its first token was sampled
  double finished = 0.0;     // until it finished
  // Between consecutive sampled tokens (inter-token latency), [tokens - 1].
  std::vector<double> inter_token;
};

struct RequestOutput {
  RequestId id = 0;
  int64_t index = 0;               // which of the request's n choices
  std::vector<int32_t> token_ids;  // sampled since the previous output
  std::string text;                // valid UTF-8 that became final with them
  std::vector<Logprobs> logprobs;  // one per token in token_ids, when asked for
  // Prompt logprobs (choice 0 only), continuing the previous outputs' from
  // prompt token 1 on (token 0 has no context to be predicted from).
  std::vector<Logprobs> prompt_logprobs;
  std::optional<FinishReason> finish_reason;  // set on a choice's last output
  std::optional<int32_t> stop_token_id;       // the stop_token_ids entry that ended it
  std::optional<std::string> stop_string;     // the stop string that ended it
  std::optional<std::string> error;           // set when the engine failed the request
  RequestUsage usage;                         // so far (complete on the last output)
  RequestTimings timings;                     // on the last output of a choice
};

class OutputStream {
 public:
  OutputStream(RequestId id, int64_t num_choices) : id_(id), open_choices_(num_choices) {}

  RequestId id() const { return id_; }

  // Blocks until an output is available; nullopt once every choice has
  // delivered its last output and all were taken.
  std::optional<RequestOutput> next();
  // Without blocking: nullopt when nothing is pending right now.
  std::optional<RequestOutput> try_next();
  // True once every choice finished and every output was taken.
  bool done() const;

  // `on_ready` is called after every push from then on, on the pushing
  // (engine) thread and outside the stream's lock, so it may call
  // try_next(); it must not block. Called at once if outputs are already
  // pending. An empty function removes it.
  void set_on_ready(std::function<void()> on_ready);

  // Engine side.
  void push(RequestOutput output);

 private:
  RequestId id_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<RequestOutput> pending_;
  int64_t open_choices_;
  // Shared so that push() takes it without copying (or allocating) a
  // function under the lock.
  std::shared_ptr<const std::function<void()>> on_ready_;
};

}  // namespace localmoe
