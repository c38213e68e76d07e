#pragma once
// Turns one row of logits into a token id under SamplingParams. Keeps its
// random state, so one Sampler per request makes a seeded request
// reproducible whatever else runs. Scratch is sized once for the vocabulary.

#include <cstdint>
#include <random>
#include <vector>

#include "localmoe/engine/sampling_params.h"

namespace localmoe {

class Sampler {
 public:
  Sampler(const SamplingParams& params, int64_t vocab_size);

  // `logits` [vocab] is used as scratch and left modified.
  int32_t sample(float* logits);

 private:
  SamplingParams params_;
  int64_t vocab_size_;
  std::mt19937_64 rng_;
  std::vector<int32_t> order_;  // candidate ids, most likely first
};

}  // namespace localmoe
