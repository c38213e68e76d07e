#include "localmoe/engine/sampling_params.h"

#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "localmoe/base/error.h"

namespace localmoe {
namespace {

std::string validation_message(const SamplingParams& params,
                               std::optional<int64_t> vocab_size = std::nullopt) {
  try {
    params.validate(vocab_size);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    return e.message();
  }
  return "valid";
}

TEST(SamplingParams, DefaultsAreOpenAIs) {
  const SamplingParams params;
  EXPECT_EQ(validation_message(params), "valid");
  EXPECT_EQ(params.n, 1);
  EXPECT_EQ(params.temperature, 1.0f);
  EXPECT_EQ(params.top_p, 1.0f);
  EXPECT_EQ(params.max_tokens, 16);
  EXPECT_FALSE(params.is_greedy());
  EXPECT_FALSE(params.has_penalties());
  EXPECT_FALSE(params.logprobs.has_value());
  EXPECT_TRUE(params.skip_special_tokens);
}

TEST(SamplingParams, ValidationNamesTheFieldTheValueAndTheRange) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  struct Case {
    std::function<void(SamplingParams&)> change;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](SamplingParams& p) { p.n = 0; }, "n must be in [1, 128], got 0"},
      {[](SamplingParams& p) { p.n = 129; }, "n must be in [1, 128], got 129"},
      {[](SamplingParams& p) { p.temperature = -1; }, "temperature must be in [0, 2], got -1"},
      {[](SamplingParams& p) { p.temperature = 2.5f; }, "temperature must be in [0, 2], got 2.5"},
      {[&](SamplingParams& p) { p.temperature = nan; }, "temperature must be in [0, 2], got nan"},
      {[](SamplingParams& p) { p.top_p = 0; }, "top_p must be in (0, 1], got 0"},
      {[](SamplingParams& p) { p.top_p = 1.5f; }, "top_p must be in (0, 1], got 1.5"},
      {[](SamplingParams& p) { p.top_k = -2; },
       "top_k must be >= 1, or 0 or -1 for all tokens, got -2"},
      {[](SamplingParams& p) { p.min_p = 1.25f; }, "min_p must be in [0, 1], got 1.25"},
      {[](SamplingParams& p) { p.presence_penalty = -3; },
       "presence_penalty must be in [-2, 2], got -3"},
      {[](SamplingParams& p) { p.frequency_penalty = 2.5f; },
       "frequency_penalty must be in [-2, 2], got 2.5"},
      {[](SamplingParams& p) { p.repetition_penalty = 0; },
       "repetition_penalty must be a finite number > 0 (1: off), got 0"},
      {[](SamplingParams& p) { p.logit_bias[-4] = 1; },
       "a logit_bias token is -4, but token ids are >= 0"},
      {[&](SamplingParams& p) { p.logit_bias[3] = nan; },
       "logit_bias of token 3 must be a number in [-100, 100], got nan"},
      {[](SamplingParams& p) {
         p.stop = {"ok", ""};
       },
       "stop[1] is empty; stop strings must be non-empty"},
      {[](SamplingParams& p) { p.stop = {"\xE4\xB8"}; }, "stop[0] is not valid UTF-8"},
      {[](SamplingParams& p) {
         p.stop_token_ids = {2, -1};
       },
       "stop_token_ids[1] is -1, but token ids are >= 0"},
      {[](SamplingParams& p) { p.max_tokens = 0; }, "max_tokens must be >= 1, got 0"},
      {[](SamplingParams& p) { p.min_tokens = 17; },
       "min_tokens must be in [0, max_tokens = 16], got 17"},
      {[](SamplingParams& p) { p.min_tokens = -1; },
       "min_tokens must be in [0, max_tokens = 16], got -1"},
      {[](SamplingParams& p) { p.logprobs = 21; }, "logprobs must be in [0, 20], got 21"},
      {[](SamplingParams& p) { p.prompt_logprobs = -1; },
       "prompt_logprobs must be in [0, 20], got -1"},
  };
  for (const Case& c : cases) {
    SamplingParams params;
    c.change(params);
    EXPECT_EQ(validation_message(params), c.message);
  }
}

TEST(SamplingParams, AcceptsTheEdgesOfEveryRange) {
  SamplingParams params;
  params.n = 128;
  params.temperature = 2;
  params.top_p = 1;
  params.top_k = -1;
  params.min_p = 1;
  params.presence_penalty = -2;
  params.frequency_penalty = 2;
  params.repetition_penalty = 0.01f;
  params.logit_bias = {{0, -1000.0f}, {5, 1000.0f}};  // clamped when applied, as OpenAI does
  params.stop = {"\xE4\xB8\xAD"};
  params.min_tokens = params.max_tokens;
  params.logprobs = 20;
  params.prompt_logprobs = 0;
  EXPECT_EQ(validation_message(params), "valid");
  params.temperature = 0;
  EXPECT_TRUE(params.is_greedy());
  EXPECT_TRUE(params.has_penalties());
}

TEST(SamplingParams, TokenIdsAreCheckedAgainstTheVocabularyWhenGiven) {
  SamplingParams params;
  params.logit_bias[96] = 5;
  EXPECT_EQ(validation_message(params), "valid");
  EXPECT_EQ(validation_message(params, 96),
            "a logit_bias token is 96, outside the vocabulary [0, 96)");
  EXPECT_EQ(validation_message(params, 97), "valid");
  params = {};
  params.stop_token_ids = {95, 96};
  EXPECT_EQ(validation_message(params, 96),
            "stop_token_ids[1] is 96, outside the vocabulary [0, 96)");
}

}  // namespace
}  // namespace localmoe
