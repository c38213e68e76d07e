#pragma once
// Validation of token ids that come from outside (requests, files, the
// command line) before they reach the model, which only LM_CHECKs them.

#include <cstdint>
#include <span>
#include <string_view>

namespace localmoe {

// Throws Error(kInvalidArgument) naming the first id outside [0, vocab_size):
// "<what> token 3 is 500, outside the vocabulary [0, 96)".
void validate_token_ids(std::span<const int32_t> ids, int64_t vocab_size, std::string_view what);

}  // namespace localmoe
