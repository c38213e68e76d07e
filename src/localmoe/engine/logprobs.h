#pragma once
// Log-probabilities returned with tokens (OpenAI's logprobs / top_logprobs,
// vLLM's prompt_logprobs for echo). They are those of the model's own
// distribution: log_softmax of the raw logits, before logit bias, penalties,
// temperature and truncation. That is what vLLM returns by default
// (logprobs_mode "raw_logprobs"), so a token's logprob does not change with
// the sampling parameters, and greedy and sampled requests agree.

#include <array>
#include <cstdint>
#include <span>

#include "localmoe/engine/sampling_params.h"
#include "localmoe/kernels/kernels.h"

namespace localmoe {

struct TokenLogprob {
  int32_t token_id = 0;
  float logprob = 0.0f;
};

// One position's answer; fixed capacity, so producing it never allocates.
struct Logprobs {
  TokenLogprob token;  // the sampled (or, for a prompt, the actual next) token
  // vLLM's rank: the number of ids whose logprob is >= the token's (1 for
  // the most likely; ties count against the token).
  int64_t rank = 0;
  int32_t num_top = 0;
  std::array<TokenLogprob, kMaxLogprobs>
      top{};  // [num_top], most likely first, ties to the lower id

  std::span<const TokenLogprob> top_logprobs() const {
    return {top.data(), static_cast<size_t>(num_top)};
  }
};

// `logits`: one raw row [vocab_size], used as scratch (left holding the
// probabilities). num_top in [0, kMaxLogprobs]; fewer when the vocabulary
// is smaller.
Logprobs compute_logprobs(const kernels::Kernels& kernels, float* logits, int64_t vocab_size,
                          int32_t token_id, int64_t num_top);

}  // namespace localmoe
