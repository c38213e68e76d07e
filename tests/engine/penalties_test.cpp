#include "localmoe/engine/penalties.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "localmoe/engine/sampling_params.h"

namespace localmoe {
namespace {

using Logits = std::vector<float>;

TEST(Penalties, LogitBiasAddsToTheListedIds) {
  Logits logits = {1.0f, 2.0f, 3.0f, 4.0f};
  const std::vector<TokenBias> biases = {{1, 2.5f}, {3, -100.0f}};
  apply_logit_bias(biases, logits.data());
  EXPECT_EQ(logits, (Logits{1.0f, 4.5f, 3.0f, -96.0f}));
}

TEST(Penalties, SuppressedIdsCannotBeChosen) {
  Logits logits = {1.0f, 2.0f, 3.0f};
  const std::vector<int32_t> ids = {0, 2};
  suppress_tokens(ids, logits.data());
  EXPECT_TRUE(std::isinf(logits[0]) && logits[0] < 0);
  EXPECT_EQ(logits[1], 2.0f);
  EXPECT_TRUE(std::isinf(logits[2]) && logits[2] < 0);
}

TEST(Penalties, RepetitionThenFrequencyAndPresence) {
  SamplingParams params;
  params.repetition_penalty = 2.0f;
  params.frequency_penalty = 0.5f;
  params.presence_penalty = 0.25f;
  Penalizer penalizer(6);
  Logits logits = {2.0f, -1.0f, 0.5f, 3.0f, -2.0f, 0.0f};
  const std::vector<int32_t> prompt = {0, 1};
  const std::vector<int32_t> output = {3, 3, 1, 5};
  penalizer.apply(params, prompt, output, logits.data());
  // 0: prompt only, positive: 2 / 2. 1: prompt and output once, negative:
  // -1 * 2 - 0.5 - 0.25. 3: output twice: 3 / 2 - 2 * 0.5 - 0.25. 5: output
  // once at 0 (not positive, so multiplied): 0 * 2 - 0.5 - 0.25.
  EXPECT_EQ(logits, (Logits{1.0f, -2.75f, 0.5f, 0.25f, -2.0f, -0.75f}));
}

TEST(Penalties, CountsDoNotLeakIntoTheNextRow) {
  SamplingParams params;
  params.frequency_penalty = 1.0f;
  Penalizer penalizer(4);
  Logits first(4, 0.0f), second(4, 0.0f);
  const std::vector<int32_t> output = {2, 2, 2};
  penalizer.apply(params, {}, output, first.data());
  EXPECT_EQ(first, (Logits{0.0f, 0.0f, -3.0f, 0.0f}));
  const std::vector<int32_t> other = {2};
  penalizer.apply(params, {}, other, second.data());
  EXPECT_EQ(second, (Logits{0.0f, 0.0f, -1.0f, 0.0f}));
}

TEST(Penalties, NegativePenaltiesEncourageRepeats) {
  SamplingParams params;
  params.presence_penalty = -0.5f;
  params.repetition_penalty = 0.5f;  // < 1: seen tokens are boosted
  Penalizer penalizer(3);
  Logits logits = {1.0f, -1.0f, 1.0f};
  const std::vector<int32_t> prompt = {0, 1};
  const std::vector<int32_t> output = {0};
  penalizer.apply(params, prompt, output, logits.data());
  // 0: 1 / 0.5 + 0.5 (output). 1: -1 * 0.5 (prompt only: no presence).
  EXPECT_EQ(logits, (Logits{2.5f, -0.5f, 1.0f}));
}

}  // namespace
}  // namespace localmoe
