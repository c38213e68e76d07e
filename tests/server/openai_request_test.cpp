// read_openai_request: every prompt form, chat messages through the demo
// model's own chat template, the stream fields, and errors that name the
// field.

#include "localmoe/server/openai_request.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "loader/expect_error.h"
#include "localmoe/tokenizer/chat_template.h"
#include "test_support/demo_tokenizer.h"

namespace localmoe {
namespace {

using localmoe::testing::expect_error;
using nlohmann::ordered_json;

class OpenAiRequestTest : public ::testing::Test {
 protected:
  OpenAiModelLimits limits(int64_t max_model_len = 512) const {
    return {tokenizer_, static_cast<int64_t>(tokenizer_->vocab_size()), max_model_len};
  }
  OpenAiRequest completions(const std::string& body, int64_t max_model_len = 512) const {
    return read_openai_request(ordered_json::parse(body), OpenAiEndpoint::kCompletions,
                               limits(max_model_len));
  }
  OpenAiRequest chat(const std::string& body, int64_t max_model_len = 512) const {
    return read_openai_request(ordered_json::parse(body), OpenAiEndpoint::kChatCompletions,
                               limits(max_model_len));
  }

  const Tokenizer* tokenizer_ = &testing::demo_tokenizer();
};

TEST_F(OpenAiRequestTest, EveryCompletionPromptForm) {
  const std::vector<int32_t> text = tokenizer_->encode("And God said", /*add_special_tokens=*/true);
  EXPECT_EQ(completions(R"({"prompt": "And God said"})").prompts,
            std::vector<std::vector<int32_t>>{text});
  const OpenAiRequest two = completions(R"({"prompt": ["And God said", "Let there be"]})");
  ASSERT_EQ(two.prompts.size(), 2U);
  EXPECT_EQ(two.prompts[0], text);
  EXPECT_EQ(two.prompts[1], tokenizer_->encode("Let there be", /*add_special_tokens=*/true));
  EXPECT_EQ(completions(R"({"prompt": [5, 6, 7]})").prompts,
            (std::vector<std::vector<int32_t>>{{5, 6, 7}}));
  EXPECT_EQ(completions(R"({"prompt": [[5, 6], [7]]})").prompts,
            (std::vector<std::vector<int32_t>>{{5, 6}, {7}}));
}

TEST_F(OpenAiRequestTest, PromptErrorsNameTheField) {
  expect_error([&] { completions(R"({"max_tokens": 3})"); }, ErrorKind::kInvalidArgument,
               {"'prompt' is required"});
  expect_error([&] { completions(R"({"prompt": []})"); }, ErrorKind::kInvalidArgument,
               {"'prompt' must be a string, an array of strings"});
  expect_error([&] { completions(R"({"prompt": ["a", [1]]})"); }, ErrorKind::kInvalidArgument,
               {"'prompt' must be"});
  expect_error([&] { completions(R"({"prompt": [1, -2]})"); }, ErrorKind::kInvalidArgument,
               {"'prompt' holds -2"});
  const std::string past = std::to_string(tokenizer_->vocab_size());
  expect_error([&] { completions(R"({"prompt": [1, )" + past + "]}"); },
               ErrorKind::kInvalidArgument,
               {"'prompt' holds token id " + past, "past the vocabulary of " + past});
  expect_error([&] { completions(R"({"prompt": "x", "model": 3})"); }, ErrorKind::kInvalidArgument,
               {"'model' must be a string, got an integer (3)"});
  expect_error(
      [&] {
        read_openai_request(ordered_json::parse(R"({"prompt": "text"})"),
                            OpenAiEndpoint::kCompletions, OpenAiModelLimits{nullptr, 100, 64});
      },
      ErrorKind::kInvalidArgument, {"a text prompt needs the model's tokenizer", "token ids"});
}

TEST_F(OpenAiRequestTest, ChatRendersTheModelsTemplate) {
  const OpenAiRequest request = chat(R"({"model": "demo", "messages": [
      {"role": "system", "content": "Answer briefly."},
      {"role": "user", "content": [{"type": "text", "text": "Who"},
                                   {"type": "text", "text": "said it?"}]}]})");
  const ordered_json expected_messages = ordered_json::parse(R"([
      {"role": "system", "content": "Answer briefly."},
      {"role": "user", "content": "Who\nsaid it?"}])");
  const std::string rendered = ChatTemplate::for_tokenizer(*tokenizer_)
                                   .render(expected_messages, /*add_generation_prompt=*/true);
  ASSERT_EQ(request.prompts.size(), 1U);
  EXPECT_EQ(request.prompts[0], tokenizer_->encode(rendered, /*add_special_tokens=*/false));
  EXPECT_EQ(request.model, "demo");
  // No max_tokens: the rest of the context.
  EXPECT_EQ(request.sampling.max_tokens, 512 - static_cast<int64_t>(request.prompts[0].size()));
}

TEST_F(OpenAiRequestTest, ChatMessagesAreNormalized) {
  const ordered_json out = normalize_chat_messages(ordered_json::parse(R"([
      {"role": "user", "content": "hi"},
      {"role": "assistant", "content": null, "tool_calls": [{"id": "c1"}]},
      {"role": "tool", "tool_call_id": "c1", "content": "42"}])"));
  EXPECT_EQ(out[1]["content"], "");
  EXPECT_EQ(out[1]["tool_calls"][0]["id"], "c1");
  EXPECT_EQ(out[2]["tool_call_id"], "c1");
}

TEST_F(OpenAiRequestTest, ChatErrorsNameTheMessage) {
  expect_error([&] { chat(R"({"messages": []})"); }, ErrorKind::kInvalidArgument,
               {"'messages' must be a non-empty array"});
  expect_error([&] { chat(R"({"messages": [{"role": "robot", "content": "x"}]})"); },
               ErrorKind::kInvalidArgument,
               {"'messages[0].role' must be one of system", "got \"robot\""});
  expect_error([&] { chat(R"({"messages": [{"role": "user"}]})"); }, ErrorKind::kInvalidArgument,
               {"'messages[0]' has no 'content'"});
  expect_error(
      [&] {
        chat(R"({"messages": [{"role": "user", "content": "a"},
                {"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]})");
      },
      ErrorKind::kUnsupported, {"'messages[1].content[0]' is of type 'image_url'", "text"});
  expect_error([&] { chat(R"({"messages": [{"role": "user", "content": 7}]})"); },
               ErrorKind::kInvalidArgument, {"'messages[0].content' must be a string"});
}

TEST_F(OpenAiRequestTest, StreamFields) {
  const OpenAiRequest streamed =
      completions(R"({"prompt": [1], "stream": true, "stream_options": {"include_usage": true},
                      "echo": true, "user": "u-1"})");
  EXPECT_TRUE(streamed.stream);
  EXPECT_TRUE(streamed.include_usage);
  EXPECT_TRUE(streamed.echo);
  EXPECT_EQ(streamed.user, "u-1");
  const OpenAiRequest plain = completions(R"({"prompt": [1]})");
  EXPECT_FALSE(plain.stream);
  EXPECT_FALSE(plain.include_usage);
  expect_error([&] { completions(R"({"prompt": [1], "stream_options": {}})"); },
               ErrorKind::kInvalidArgument, {"'stream_options' is only allowed with"});
  expect_error([&] { completions(R"({"prompt": [1], "stream": "yes"})"); },
               ErrorKind::kInvalidArgument, {"'stream' must be a boolean"});
}

TEST_F(OpenAiRequestTest, ContextLengthIsCheckedWithBothCounts) {
  expect_error([&] { completions(R"({"prompt": [1, 2, 3, 4], "max_tokens": 61})", 64); },
               ErrorKind::kInvalidArgument,
               {"maximum context length is 64 tokens", "asks for 65", "4 in the prompt",
                "61 in the completion"});
  EXPECT_EQ(completions(R"({"prompt": [1, 2, 3, 4], "max_tokens": 60})", 64).sampling.max_tokens,
            60);
}

TEST_F(OpenAiRequestTest, SamplingFieldsAreReadAndValidated) {
  const OpenAiRequest r =
      completions(R"({"prompt": [1], "n": 2, "temperature": 0.5, "logprobs": 3, "seed": 9})");
  EXPECT_EQ(r.sampling.n, 2);
  EXPECT_FLOAT_EQ(r.sampling.temperature, 0.5F);
  EXPECT_EQ(r.sampling.logprobs, 3);
  expect_error([&] { completions(R"({"prompt": [1], "temperature": -1})"); },
               ErrorKind::kInvalidArgument, {"temperature"});
}

}  // namespace
}  // namespace localmoe
