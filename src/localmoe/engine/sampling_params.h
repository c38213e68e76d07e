#pragma once
// How the next token is chosen from the logits. Defaults are the OpenAI
// API's (temperature 1, no truncation); temperature 0 means greedy.

#include <cstdint>
#include <optional>

namespace localmoe {

struct SamplingParams {
  float temperature = 1.0f;      // 0: greedy (argmax)
  int64_t top_k = 0;             // keep the k most likely tokens; 0: all
  float top_p = 1.0f;            // keep the smallest set with this much probability mass
  float min_p = 0.0f;            // drop tokens below min_p x the top probability
  std::optional<uint64_t> seed;  // fixed seed: reproducible sampling
  int64_t max_tokens = 16;       // new tokens at most
  bool ignore_eos = false;       // keep generating past an end-of-sequence token

  // Throws Error(kInvalidArgument) naming the field and the allowed range.
  void validate() const;
};

}  // namespace localmoe
