#pragma once
// One generation request as the scheduler tracks it: its token ids (the
// prompt followed by the tokens generated so far), how many of them the KV
// cache holds, its state, and the engine's sampling parameters, which the
// scheduler carries but does not interpret (except max_tokens, the longest
// the request can grow). The scheduler owns requests and changes them; the
// engine reads them.

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "localmoe/engine/sampling_params.h"

namespace localmoe {

// The engine's id of a request (the server maps its "cmpl-..." strings to these).
using RequestId = uint64_t;

enum class RequestStatus {
  kWaiting,          // queued, never run
  kRunning,          // scheduled every step while it fits
  kPreempted,        // lost its blocks; queued to recompute its tokens
  kSwapped,          // its blocks sit in the host swap area; queued to swap back in
  kFinishedStopped,  // the engine saw a stop (EOS, stop token or string)
  kFinishedLength,   // max_tokens or max_model_len reached
  kFinishedAborted,  // cancelled or disconnected
};

// Why the engine ended a request; the spelling is OpenAI's finish_reason.
enum class FinishReason { kStop, kLength, kAbort };

std::string_view request_status_name(RequestStatus status);
std::string_view finish_reason_name(FinishReason reason);

class Request {
 public:
  // `arrival_order` ranks requests first come, first served (smaller = earlier).
  Request(RequestId id, std::vector<int32_t> prompt_token_ids, const SamplingParams& params,
          int64_t arrival_order);

  RequestId id() const { return id_; }
  int64_t arrival_order() const { return arrival_order_; }
  RequestStatus status() const { return status_; }
  bool is_finished() const;
  // Set once finished.
  std::optional<FinishReason> finish_reason() const;

  // The prompt followed by the generated tokens: [num_tokens].
  std::span<const int32_t> token_ids() const { return token_ids_; }
  std::span<const int32_t> prompt_token_ids() const {
    return std::span<const int32_t>(token_ids_).first(num_prompt_tokens_);
  }
  std::span<const int32_t> output_token_ids() const {
    return std::span<const int32_t>(token_ids_).subspan(num_prompt_tokens_);
  }
  int64_t num_tokens() const { return static_cast<int64_t>(token_ids_.size()); }
  int64_t num_prompt_tokens() const { return num_prompt_tokens_; }
  int64_t num_output_tokens() const { return num_tokens() - num_prompt_tokens_; }
  // Leading tokens whose keys and values the KV cache holds.
  int64_t num_computed_tokens() const { return num_computed_tokens_; }
  // Prompt tokens found in the prefix cache when first admitted (OpenAI's
  // usage.prompt_tokens_details.cached_tokens).
  int64_t num_cached_prompt_tokens() const { return num_cached_prompt_tokens_; }
  int64_t num_preemptions() const { return num_preemptions_; }
  int64_t max_tokens() const { return sampling_params_.max_tokens; }

  // The engine's per-request state; the scheduler reads only max_tokens.
  const SamplingParams& sampling_params() const { return sampling_params_; }
  SamplingParams& sampling_params() { return sampling_params_; }

 private:
  friend class Scheduler;

  void append_output_token(int32_t token);
  void replace_last_output_token(int32_t token);

  RequestId id_;
  int64_t arrival_order_;
  std::vector<int32_t> token_ids_;  // capacity reserved for prompt + max_tokens
  int64_t num_prompt_tokens_;
  int64_t num_computed_tokens_ = 0;
  int64_t num_cached_prompt_tokens_ = 0;
  int64_t num_preemptions_ = 0;
  bool admitted_before_ = false;
  RequestStatus status_ = RequestStatus::kWaiting;
  SamplingParams sampling_params_;
};

}  // namespace localmoe
