#pragma once
// A request's whole answer, put together from the deltas of its
// OutputStream: per choice the token ids, text, logprobs, finish reason and
// timings; the usage of all choices. What a non-streaming API response and
// the offline batch write out.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "localmoe/engine/output_stream.h"

namespace localmoe {

struct CompletionChoice {
  int64_t index = 0;
  std::vector<int32_t> token_ids;
  std::string text;
  std::vector<Logprobs> logprobs;  // one per token when asked for
  std::optional<FinishReason> finish_reason;
  std::optional<int32_t> stop_token_id;
  std::optional<std::string> stop_string;
  std::optional<std::string> error;
  RequestTimings timings;

  bool finished() const { return finish_reason.has_value() || error.has_value(); }
};

struct Completion {
  RequestId id = 0;
  std::vector<CompletionChoice> choices;  // [n], by index
  // Logprobs of prompt tokens 1.. (the first has no context), when asked for.
  std::vector<Logprobs> prompt_logprobs;
  int64_t prompt_tokens = 0;
  int64_t cached_prompt_tokens = 0;
  int64_t completion_tokens = 0;  // summed over the choices

  Completion(RequestId request_id, int64_t num_choices);

  // Folds one delta of this request in.
  void add(RequestOutput&& output);
  bool finished() const;
  // Every delta there is, then the whole answer: blocks until it is finished.
  static Completion collect(OutputStream& stream, int64_t num_choices);
};

}  // namespace localmoe
