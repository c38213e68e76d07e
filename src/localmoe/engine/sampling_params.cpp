#include "localmoe/engine/sampling_params.h"

#include <cmath>

#include "localmoe/base/error.h"
#include "localmoe/tokenizer/unicode.h"

namespace localmoe {
namespace {

// NaN fails every comparison, so it fails these range checks too.
void check_closed(std::string_view field, double value, double low, double high) {
  if (!(value >= low && value <= high)) {
    throw make_error(ErrorKind::kInvalidArgument, field, " must be in [", low, ", ", high,
                     "], got ", value);
  }
}

void check_token_id(std::string_view what, int32_t id, std::optional<int64_t> vocab_size) {
  if (id < 0) {
    throw make_error(ErrorKind::kInvalidArgument, what, " is ", id, ", but token ids are >= 0");
  }
  if (vocab_size && id >= *vocab_size) {
    throw make_error(ErrorKind::kInvalidArgument, what, " is ", id, ", outside the vocabulary [0, ",
                     *vocab_size, ")");
  }
}

}  // namespace

void SamplingParams::validate(std::optional<int64_t> vocab_size) const {
  check_closed("n", static_cast<double>(n), 1, kMaxN);
  check_closed("temperature", temperature, 0, kMaxTemperature);
  if (!(top_p > 0.0f && top_p <= 1.0f)) {
    throw make_error(ErrorKind::kInvalidArgument, "top_p must be in (0, 1], got ", top_p);
  }
  if (top_k < -1) {
    throw make_error(ErrorKind::kInvalidArgument,
                     "top_k must be >= 1, or 0 or -1 for all tokens, got ", top_k);
  }
  check_closed("min_p", min_p, 0, 1);
  check_closed("presence_penalty", presence_penalty, -kMaxPresenceFrequency, kMaxPresenceFrequency);
  check_closed("frequency_penalty", frequency_penalty, -kMaxPresenceFrequency,
               kMaxPresenceFrequency);
  if (!(repetition_penalty > 0.0f && std::isfinite(repetition_penalty))) {
    throw make_error(ErrorKind::kInvalidArgument,
                     "repetition_penalty must be a finite number > 0 (1: off), got ",
                     repetition_penalty);
  }
  for (const auto& [id, bias] : logit_bias) {
    check_token_id("a logit_bias token", id, vocab_size);
    // Out-of-range finite biases are clamped (OpenAI); NaN has no meaning.
    if (std::isnan(bias)) {
      throw make_error(ErrorKind::kInvalidArgument, "logit_bias of token ", id,
                       " must be a number in [-100, 100], got ", bias);
    }
  }
  for (size_t i = 0; i < stop.size(); ++i) {
    if (stop[i].empty()) {
      throw make_error(ErrorKind::kInvalidArgument, "stop[", i,
                       "] is empty; stop strings must be non-empty");
    }
    if (!utf8_is_valid(stop[i])) {
      throw make_error(ErrorKind::kInvalidArgument, "stop[", i, "] is not valid UTF-8");
    }
  }
  for (size_t i = 0; i < stop_token_ids.size(); ++i) {
    check_token_id("stop_token_ids[" + std::to_string(i) + "]", stop_token_ids[i], vocab_size);
  }
  if (max_tokens < 1) {
    throw make_error(ErrorKind::kInvalidArgument, "max_tokens must be >= 1, got ", max_tokens);
  }
  if (min_tokens < 0 || min_tokens > max_tokens) {
    throw make_error(ErrorKind::kInvalidArgument,
                     "min_tokens must be in [0, max_tokens = ", max_tokens, "], got ", min_tokens);
  }
  if (logprobs) check_closed("logprobs", static_cast<double>(*logprobs), 0, kMaxLogprobs);
  if (prompt_logprobs) {
    check_closed("prompt_logprobs", static_cast<double>(*prompt_logprobs), 0, kMaxLogprobs);
  }
}

}  // namespace localmoe
