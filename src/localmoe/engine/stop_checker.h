#pragma once
// Per request, after each sampled token: the text to stream now and whether
// the request has finished. Text comes from the tokenizer's incremental
// detokenizer; stop strings are matched across token boundaries by holding
// back the end of the text while it could still be the start of a stop
// string (and only that: no fixed-length delay), so streamed text is never
// retracted. Finishing follows vLLM's checks, in order, on each token:
//   1. EOS (the model's ids, unless ignore_eos) or one of stop_token_ids:
//      "stop"; the token's text is dropped unless include_stop_str_in_output;
//   2. a stop string completed by this token's text: "stop"; the text is cut
//      before it (after it with include_stop_str_in_output);
//   3. max_new_tokens reached: "length".
// None of 1-2 can happen within the first min_tokens tokens (a stop string
// must end in text of a later token). When the request finishes by 1 or 3,
// held-back text is released; text after a matched stop string never is.
// Deltas are valid UTF-8: the detokenizer emits whole characters and stop
// strings are valid UTF-8, so every cut falls between characters.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "localmoe/engine/request.h"
#include "localmoe/engine/sampling_params.h"
#include "localmoe/tokenizer/detokenizer.h"

namespace localmoe {

// Why a request finished: kStop or kLength (a StopChecker never aborts).
// stop_token_id / stop_string_index carry vLLM's stop_reason (the stop id or
// string that matched); both are empty for EOS and for kLength.
struct Finish {
  FinishReason reason = FinishReason::kLength;
  std::optional<int32_t> stop_token_id;     // the stop_token_ids entry that ended it
  std::optional<size_t> stop_string_index;  // index in SamplingParams::stop
};

// What one token adds to the response.
struct StopStep {
  std::string text;              // valid UTF-8 to emit now; often empty
  std::optional<Finish> finish;  // set on the token that ends the request
};

class StopChecker {
 public:
  // `params` must be valid; `eos_token_ids` are the model's
  // (generation_config.json), ignored with params.ignore_eos;
  // `max_new_tokens` is params.max_tokens, or less when the context has less
  // room left. The tokenizer must outlive the checker; without one (nullptr)
  // there is no text and params.stop must be empty.
  StopChecker(const SamplingParams& params, const Tokenizer* tokenizer,
              std::span<const int64_t> eos_token_ids, int64_t max_new_tokens);

  // Takes the next generated token. Must not be called once finished.
  StopStep add(int32_t token_id);

  int64_t num_tokens() const { return num_tokens_; }
  bool finished() const { return finished_; }

 private:
  // Appends `delta` to the text and looks for a stop string ending in it
  // (when `may_stop`). On a match, emits the text up to the cut into `step`,
  // records the finish and returns true; else emits what can no longer
  // become part of a stop string and returns false.
  bool feed(std::string_view delta, bool may_stop, StopStep& step);
  // Length of the longest end of the unreleased text that is a proper prefix
  // of some stop string (0 with include_stop_str_in_output: nothing is cut
  // before a stop string then, so nothing needs holding).
  size_t held_back_length() const;
  void finish(const Finish& finish, StopStep& step);

  std::vector<std::string> stop_;
  std::vector<int32_t> stop_token_ids_;
  std::vector<int32_t> eos_token_ids_;  // empty with ignore_eos
  bool include_stop_str_in_output_;
  int64_t min_tokens_;
  int64_t max_new_tokens_;
  size_t max_stop_length_ = 0;

  std::optional<IncrementalDetokenizer> detokenizer_;  // none without a tokenizer
  // The end of the text: [released tail | held back]. The released tail is
  // kept (at most max_stop_length_ - 1 bytes) only with
  // include_stop_str_in_output, where a stop string may start in text
  // already sent; otherwise no match can start there (see feed()).
  std::string window_;
  size_t released_ = 0;  // bytes of window_ already emitted
  int64_t num_tokens_ = 0;
  bool finished_ = false;
};

}  // namespace localmoe
