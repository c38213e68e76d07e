#pragma once
// The logits processors that run before the distribution is formed, in
// vLLM's order: logit bias, min_tokens suppression, then the repetition,
// frequency and presence penalties. Each edits one row of logits
// ([vocab_size] f32) in place and touches only the ids it concerns, so a
// row costs O(prompt + output) here, not O(vocab).

#include <cstdint>
#include <span>
#include <vector>

namespace localmoe {

struct SamplingParams;

// A token id and the value added to its logit (already clamped to
// [-kMaxLogitBias, kMaxLogitBias]).
struct TokenBias {
  int32_t token_id;
  float bias;
};

// logits[id] += bias for every entry.
void apply_logit_bias(std::span<const TokenBias> biases, float* logits);

// logits[id] = -inf for every id: what min_tokens does to EOS and the stop
// token ids until enough tokens were generated.
void suppress_tokens(std::span<const int32_t> ids, float* logits);

// Repetition, frequency and presence penalties for one row at a time, over a
// vocabulary-sized count array that is reused from row to row and cleared by
// the entries it touched (no allocation per token):
//   seen in prompt or output:  l = l > 0 ? l / repetition_penalty : l * repetition_penalty
//   generated c > 0 times:     l -= c * frequency_penalty + presence_penalty
// (the second is OpenAI's definition; the prompt does not count for it).
class Penalizer {
 public:
  explicit Penalizer(int64_t vocab_size);

  // prompt_ids: the distinct ids of the prompt (only the repetition penalty
  // reads them); output_ids: the generated ids so far, repeats included.
  void apply(const SamplingParams& params, std::span<const int32_t> prompt_ids,
             std::span<const int32_t> output_ids, float* logits);

 private:
  std::vector<uint32_t> output_counts_;  // [vocab_size] occurrences in the output; 0 between calls
  std::vector<int32_t> touched_;         // distinct output ids of this call; capacity vocab_size
};

}  // namespace localmoe
