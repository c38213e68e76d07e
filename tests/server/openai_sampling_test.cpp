#include "localmoe/server/openai_sampling.h"

#include <gtest/gtest.h>

#include <string>

#include "loader/expect_error.h"

namespace localmoe {
namespace {

using nlohmann::json;

SamplingParams completions(const json& body) {
  return sampling_params_from_json(body, OpenAiEndpoint::kCompletions, 1000);
}
SamplingParams chat(const json& body) {
  return sampling_params_from_json(body, OpenAiEndpoint::kChatCompletions, 1000);
}

TEST(OpenAiSampling, ReadsEveryFieldByItsOpenAiName) {
  const SamplingParams p = completions(json::parse(R"({
    "n": 2, "temperature": 0.7, "top_p": 0.9, "top_k": 40, "min_p": 0.05,
    "presence_penalty": 0.5, "frequency_penalty": -0.5, "repetition_penalty": 1.1,
    "logit_bias": {"7": -100, "12": 3.5}, "seed": 42, "stop": ["\n\n", "END"],
    "stop_token_ids": [2, 3], "include_stop_str_in_output": true, "ignore_eos": true,
    "max_tokens": 64, "min_tokens": 4, "logprobs": 3, "prompt_logprobs": 1,
    "skip_special_tokens": false, "user": "someone", "echo": true})"));
  EXPECT_EQ(p.n, 2);
  EXPECT_FLOAT_EQ(p.temperature, 0.7f);
  EXPECT_FLOAT_EQ(p.top_p, 0.9f);
  EXPECT_EQ(p.top_k, 40);
  EXPECT_FLOAT_EQ(p.min_p, 0.05f);
  EXPECT_FLOAT_EQ(p.presence_penalty, 0.5f);
  EXPECT_FLOAT_EQ(p.frequency_penalty, -0.5f);
  EXPECT_FLOAT_EQ(p.repetition_penalty, 1.1f);
  EXPECT_EQ(p.logit_bias, (std::map<int32_t, float>{{7, -100.0f}, {12, 3.5f}}));
  EXPECT_EQ(p.seed, 42u);
  EXPECT_EQ(p.stop, (std::vector<std::string>{"\n\n", "END"}));
  EXPECT_EQ(p.stop_token_ids, (std::vector<int32_t>{2, 3}));
  EXPECT_TRUE(p.include_stop_str_in_output);
  EXPECT_TRUE(p.ignore_eos);
  EXPECT_EQ(p.max_tokens, 64);
  EXPECT_EQ(p.min_tokens, 4);
  EXPECT_EQ(p.logprobs, 3);
  EXPECT_EQ(p.prompt_logprobs, 1);
  EXPECT_FALSE(p.skip_special_tokens);
}

TEST(OpenAiSampling, AbsentOrNullFieldsKeepTheDefaults) {
  const SamplingParams defaults;
  const SamplingParams p = completions(json::parse(R"({"temperature": null, "stop": null})"));
  EXPECT_EQ(p.temperature, defaults.temperature);
  EXPECT_TRUE(p.stop.empty());
  EXPECT_EQ(p.max_tokens, 16);  // OpenAI's completions default
  EXPECT_FALSE(p.logprobs.has_value());
  EXPECT_EQ(completions(json::parse(R"({"stop": "x"})")).stop, std::vector<std::string>{"x"});
  // Integral numbers written as floats are integers.
  EXPECT_EQ(completions(json::parse(R"({"max_tokens": 8.0})")).max_tokens, 8);
}

TEST(OpenAiSampling, ChatSpellsLogprobsAsAFlagAndDefaultsToUnboundedLength) {
  const SamplingParams p = chat(json::parse(R"({"logprobs": true, "top_logprobs": 5})"));
  EXPECT_EQ(p.logprobs, 5);
  EXPECT_EQ(p.max_tokens, 1000);
  EXPECT_EQ(chat(json::parse(R"({"logprobs": true})")).logprobs, 0);
  EXPECT_FALSE(chat(json::parse(R"({"logprobs": false})")).logprobs.has_value());
  // The newer name wins.
  EXPECT_EQ(chat(json::parse(R"({"max_tokens": 5, "max_completion_tokens": 9})")).max_tokens, 9);
  testing::expect_error([] { chat(json::parse(R"({"top_logprobs": 2})")); },
                        ErrorKind::kInvalidArgument, {"'top_logprobs' needs 'logprobs': true"});
}

TEST(OpenAiSampling, AWrongTypeNamesTheFieldAndTheValue) {
  testing::expect_error([] { completions(json::parse(R"({"temperature": "hot"})")); },
                        ErrorKind::kInvalidArgument,
                        {"'temperature' must be a number, got a string (\"hot\")"});
  testing::expect_error([] { completions(json::parse(R"({"n": 1.5})")); },
                        ErrorKind::kInvalidArgument,
                        {"'n' must be an integer, got a number (1.5)"});
  testing::expect_error([] { completions(json::parse(R"({"ignore_eos": 1})")); },
                        ErrorKind::kInvalidArgument, {"'ignore_eos' must be a boolean"});
  testing::expect_error([] { completions(json::parse(R"({"stop": [1]})")); },
                        ErrorKind::kInvalidArgument, {"'stop' must be a string or an array"});
  testing::expect_error([] { completions(json::parse(R"({"logit_bias": {"abc": 1}})")); },
                        ErrorKind::kInvalidArgument, {"'logit_bias' key 'abc' is not a token id"});
  testing::expect_error([] { completions(json::parse(R"({"stop_token_ids": [-1]})")); },
                        ErrorKind::kInvalidArgument, {"'stop_token_ids' holds -1"});
  testing::expect_error([] { completions(json::parse(R"([1, 2])")); }, ErrorKind::kInvalidArgument,
                        {"the request body' must be a JSON object"});
}

}  // namespace
}  // namespace localmoe
