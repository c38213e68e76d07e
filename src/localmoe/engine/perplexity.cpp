#include "localmoe/engine/perplexity.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "localmoe/base/error.h"
#include "localmoe/engine/sequence_runner.h"
#include "localmoe/engine/token_ids.h"

namespace localmoe {

double PerplexityResult::perplexity() const {
  return std::exp(mean_nll());
}

PerplexityResult evaluate_perplexity(Transformer& model, std::span<const int32_t> tokens,
                                     int64_t context, Allocator& allocator) {
  const ModelConfig& config = model.config();
  const int64_t total = static_cast<int64_t>(tokens.size());
  if (total < 2) {
    throw make_error(ErrorKind::kInvalidArgument, "perplexity needs at least 2 tokens, got ",
                     total);
  }
  if (context < 2 || context > config.max_position_embeddings) {
    throw make_error(ErrorKind::kInvalidArgument, "context ", context, " must be in [2, ",
                     config.max_position_embeddings, "]");
  }
  validate_token_ids(tokens, config.vocab_size, "text");
  const int64_t vocab = config.vocab_size;
  const int64_t chunk = model.max_batch_tokens();
  SequenceRunner sequence(model, context, DType::kF32, allocator);
  std::vector<float> logits(static_cast<size_t>(chunk * vocab));

  PerplexityResult result;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t window = 0; window < total; window += context) {
    const int64_t window_end = std::min(total, window + context);
    sequence.reset();
    for (int64_t begin = window; begin < window_end; begin += chunk) {
      const int64_t count = std::min(chunk, window_end - begin);
      sequence.append(tokens.subspan(begin, count), LogitsFor::kAllTokens, logits.data());
      // Row r predicts token begin + r + 1, when that token is in the window.
      for (int64_t r = 0; r < count && begin + r + 1 < window_end; ++r) {
        float* row = logits.data() + r * vocab;
        const float target_logit = row[tokens[begin + r + 1]];
        const float log_normalizer = model.kernels().softmax(row, vocab);
        result.negative_log_likelihood += static_cast<double>(log_normalizer) - target_logit;
        ++result.tokens_scored;
      }
    }
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace localmoe
