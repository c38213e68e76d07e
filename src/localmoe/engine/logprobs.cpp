#include "localmoe/engine/logprobs.h"

#include <algorithm>

#include "localmoe/base/error.h"

namespace localmoe {

Logprobs compute_logprobs(const kernels::Kernels& kernels, float* logits, int64_t vocab_size,
                          int32_t token_id, int64_t num_top) {
  LM_CHECK(token_id >= 0 && token_id < vocab_size);
  LM_CHECK(num_top >= 0 && num_top <= kMaxLogprobs);
  Logprobs out;
  out.num_top = static_cast<int32_t>(std::min(num_top, vocab_size));

  // The num_top largest logits in one pass, kept sorted: a later (higher)
  // id enters only when strictly larger, so ties keep the lower id first.
  // `filled` grows to num_top; after that, most ids cost one comparison.
  int32_t filled = 0;
  for (int64_t i = 0; i < vocab_size && out.num_top > 0; ++i) {
    const float v = logits[i];
    if (filled == out.num_top && !(v > out.top[filled - 1].logprob)) continue;
    int32_t at = filled < out.num_top ? filled++ : filled - 1;
    for (; at > 0 && out.top[at - 1].logprob < v; --at) out.top[at] = out.top[at - 1];
    out.top[at] = {static_cast<int32_t>(i), v};
  }

  const float token_logit = logits[token_id];
  int64_t rank = 0;
  for (int64_t i = 0; i < vocab_size; ++i) rank += logits[i] >= token_logit;
  out.rank = rank;

  const float log_normalizer = kernels.softmax(logits, vocab_size);
  out.token = {token_id, token_logit - log_normalizer};
  for (int32_t i = 0; i < out.num_top; ++i) out.top[i].logprob -= log_normalizer;
  return out;
}

}  // namespace localmoe
