#include "localmoe/engine/penalties.h"

#include <limits>

#include "localmoe/base/error.h"
#include "localmoe/engine/sampling_params.h"

namespace localmoe {
namespace {

float repetition_penalized(float logit, float penalty) {
  return logit > 0.0f ? logit / penalty : logit * penalty;
}

}  // namespace

void apply_logit_bias(std::span<const TokenBias> biases, float* logits) {
  for (const TokenBias& b : biases) logits[b.token_id] += b.bias;
}

void suppress_tokens(std::span<const int32_t> ids, float* logits) {
  for (int32_t id : ids) logits[id] = -std::numeric_limits<float>::infinity();
}

Penalizer::Penalizer(int64_t vocab_size) : output_counts_(static_cast<size_t>(vocab_size), 0) {
  touched_.reserve(static_cast<size_t>(vocab_size));
}

void Penalizer::apply(const SamplingParams& params, std::span<const int32_t> prompt_ids,
                      std::span<const int32_t> output_ids, float* logits) {
  LM_DCHECK(touched_.empty());
  for (int32_t id : output_ids) {
    LM_DCHECK(id >= 0 && static_cast<size_t>(id) < output_counts_.size());
    if (output_counts_[id]++ == 0) touched_.push_back(id);
  }
  const float repetition = params.repetition_penalty;
  if (repetition != 1.0f) {
    // Prompt ids that were also generated are penalized with the output ids
    // below, so each distinct id is divided or multiplied exactly once.
    for (int32_t id : prompt_ids) {
      if (output_counts_[id] == 0) logits[id] = repetition_penalized(logits[id], repetition);
    }
  }
  for (int32_t id : touched_) {
    float logit = logits[id];
    if (repetition != 1.0f) logit = repetition_penalized(logit, repetition);
    logit -= static_cast<float>(output_counts_[id]) * params.frequency_penalty;
    logit -= params.presence_penalty;
    logits[id] = logit;
    output_counts_[id] = 0;
  }
  touched_.clear();
}

}  // namespace localmoe
