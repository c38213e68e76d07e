#pragma once
// What a request asks of token selection and stopping, under the names and
// with the defaults of the OpenAI API (vLLM's extensions where OpenAI has
// none: top_k, min_p, repetition_penalty, min_tokens, stop_token_ids, ...).
// Plain data: the server fills it, validate() checks it once, and
// SamplingState / StopChecker read it for the request's lifetime.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace localmoe {

// A temperature below this is greedy decoding (vLLM's threshold: dividing by
// such a value would only amplify rounding).
inline constexpr float kGreedyTemperature = 1e-5f;
// OpenAI's limits.
inline constexpr int64_t kMaxLogprobs = 20;     // top_logprobs / prompt alternatives
inline constexpr int64_t kMaxN = 128;           // choices per request
inline constexpr float kMaxLogitBias = 100.0f;  // |bias| is clamped to this
inline constexpr float kMaxTemperature = 2.0f;
inline constexpr float kMaxPresenceFrequency = 2.0f;  // |presence_penalty|, |frequency_penalty|

struct SamplingParams {
  // ---- choices ---------------------------------------------------------------
  int64_t n = 1;  // independent completions of the same prompt, [1, 128]

  // ---- the distribution ------------------------------------------------------
  float temperature = 1.0f;  // [0, 2]; below kGreedyTemperature: greedy (argmax)
  float top_p = 1.0f;        // (0, 1]: keep the most likely tokens whose mass reaches top_p
  int64_t top_k = 0;         // keep the k most likely tokens; 0 or -1: all
  float min_p = 0.0f;        // [0, 1]: drop tokens below min_p x the most likely one's probability
  // [-2, 2]: subtracted once from the logit of every token already generated
  // (OpenAI's presence penalty; the prompt does not count).
  float presence_penalty = 0.0f;
  // [-2, 2]: subtracted from a token's logit once per time it was generated.
  float frequency_penalty = 0.0f;
  // > 0: the logit of a token seen in the prompt or the output is divided by
  // it when positive and multiplied by it when negative (1: off).
  float repetition_penalty = 1.0f;
  // Token id -> value added to its logit before anything else, clamped to
  // [-100, 100] as OpenAI does (-100 bans a token, +100 all but forces it).
  std::map<int32_t, float> logit_bias;
  // Reproducible sampling: the same seed, prompt and parameters give the same
  // tokens whatever else is batched. Unset: a seed from std::random_device.
  std::optional<uint64_t> seed;

  // ---- stopping --------------------------------------------------------------
  std::vector<std::string> stop;        // non-empty UTF-8 strings ending the text (not returned)
  std::vector<int32_t> stop_token_ids;  // token ids ending the generation, like EOS
  bool include_stop_str_in_output = false;  // keep the matched stop string / stop token text
  bool ignore_eos = false;                  // keep generating past the model's EOS tokens
  int64_t max_tokens = 16;                  // >= 1: new tokens at most ("length" when reached)
  // [0, max_tokens]: EOS, stop_token_ids and stop strings are suppressed until
  // this many tokens were generated.
  int64_t min_tokens = 0;

  // ---- log-probabilities -----------------------------------------------------
  // [0, 20]: return the sampled token's log-probability and rank and this many
  // most likely alternatives per generated token; unset: none.
  std::optional<int64_t> logprobs;
  // [0, 20]: the same for every prompt token (echo); unset: none.
  std::optional<int64_t> prompt_logprobs;

  // ---- text ------------------------------------------------------------------
  // Leave special tokens (EOS, chat markers) out of the returned text.
  // (vLLM's spaces_between_special_tokens is a slow-tokenizer option with no
  // effect on tokenizer.json decoders, so it is not offered.)
  bool skip_special_tokens = true;

  bool is_greedy() const { return temperature < kGreedyTemperature; }
  bool has_penalties() const {
    return presence_penalty != 0.0f || frequency_penalty != 0.0f || repetition_penalty != 1.0f;
  }

  // Throws Error(kInvalidArgument) naming the first bad field, its value and
  // the allowed range. With `vocab_size`, token ids in logit_bias and
  // stop_token_ids must lie in [0, vocab_size).
  void validate(std::optional<int64_t> vocab_size = std::nullopt) const;
};

}  // namespace localmoe
