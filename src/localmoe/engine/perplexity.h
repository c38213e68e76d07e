#pragma once
// Perplexity of a token sequence under a model: the quality yardstick that
// compares quantized formats with full precision on held-out text.
//
// The sequence is cut into consecutive windows of at most `context` tokens,
// each evaluated from an empty cache; inside a window every token after the
// first is predicted from the ones before it. This is the non-overlapping
// evaluation of Hugging Face's perplexity guide with stride = context.

#include <cstdint>
#include <span>

#include "localmoe/base/allocator.h"
#include "localmoe/model/transformer.h"

namespace localmoe {

struct PerplexityResult {
  int64_t tokens_scored = 0;
  double negative_log_likelihood = 0.0;  // summed, natural log
  double seconds = 0.0;

  double mean_nll() const { return tokens_scored ? negative_log_likelihood / tokens_scored : 0.0; }
  double perplexity() const;
};

// Throws Error(kInvalidArgument) when fewer than two tokens are given, a
// token is outside the vocabulary, or `context` is not in [2, max positions].
PerplexityResult evaluate_perplexity(Transformer& model, std::span<const int32_t> tokens,
                                     int64_t context, Allocator& allocator);

}  // namespace localmoe
