#include "localmoe/engine/request.h"

#include <algorithm>
#include <utility>

#include "localmoe/base/error.h"

namespace localmoe {

std::string_view request_status_name(RequestStatus status) {
  switch (status) {
    case RequestStatus::kWaiting: return "waiting";
    case RequestStatus::kRunning: return "running";
    case RequestStatus::kPreempted: return "preempted";
    case RequestStatus::kSwapped: return "swapped";
    case RequestStatus::kFinishedStopped: return "finished_stopped";
    case RequestStatus::kFinishedLength: return "finished_length";
    case RequestStatus::kFinishedAborted: return "finished_aborted";
  }
  return "?";
}

std::string_view finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kAbort: return "abort";
  }
  return "?";
}

Request::Request(RequestId id, std::vector<int32_t> prompt_token_ids, const SamplingParams& params,
                 int64_t arrival_order)
    : id_(id),
      arrival_order_(arrival_order),
      token_ids_(std::move(prompt_token_ids)),
      num_prompt_tokens_(static_cast<int64_t>(token_ids_.size())),
      sampling_params_(params) {
  // Generating never reallocates the token ids.
  token_ids_.reserve(token_ids_.size() +
                     static_cast<size_t>(std::max<int64_t>(0, params.max_tokens)));
}

bool Request::is_finished() const {
  return status_ == RequestStatus::kFinishedStopped || status_ == RequestStatus::kFinishedLength ||
         status_ == RequestStatus::kFinishedAborted;
}

std::optional<FinishReason> Request::finish_reason() const {
  switch (status_) {
    case RequestStatus::kFinishedStopped: return FinishReason::kStop;
    case RequestStatus::kFinishedLength: return FinishReason::kLength;
    case RequestStatus::kFinishedAborted: return FinishReason::kAbort;
    default: return std::nullopt;
  }
}

void Request::append_output_token(int32_t token) {
  LM_CHECK_LT(num_output_tokens(), max_tokens());
  token_ids_.push_back(token);
}

void Request::replace_last_output_token(int32_t token) {
  LM_CHECK_GT(num_output_tokens(), 0);
  token_ids_.back() = token;
}

}  // namespace localmoe
