#pragma once
// Generation for one request on one Transformer: chunked prefill of the
// prompt, then token-by-token decode with a Sampler, with timings. The
// batching engine (many requests, paged KV) builds on the same model calls.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "localmoe/base/allocator.h"
#include "localmoe/engine/sampling_params.h"
#include "localmoe/model/transformer.h"

namespace localmoe {

struct GenerationResult {
  std::vector<int32_t> token_ids;  // generated, without the prompt
  std::string finish_reason;       // "stop" (end-of-sequence token) or "length"
  int64_t prompt_tokens = 0;
  double prefill_seconds = 0.0;
  double decode_seconds = 0.0;  // every step after the first generated token

  double prefill_tokens_per_second() const;
  double decode_tokens_per_second() const;
};

class Generator {
 public:
  Generator(Transformer& model, Allocator& allocator) : model_(model), allocator_(allocator) {}

  // Throws Error(kInvalidArgument) for an empty prompt, token ids outside the
  // vocabulary or a prompt longer than the model's context.
  GenerationResult generate(std::span<const int32_t> prompt, const SamplingParams& params);

 private:
  Transformer& model_;
  Allocator& allocator_;
};

}  // namespace localmoe
