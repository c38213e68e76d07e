// OpenAI response bodies and stream chunks built from engine outputs, and
// the error envelope.

#include "localmoe/server/openai_response.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "localmoe/server/openai_error.h"
#include "test_support/demo_tokenizer.h"

namespace localmoe {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

const OpenAiResponseHeader kHeader{"cmpl-7", 1700000000, "demo", "fp_localmoe"};

RequestOutput output(RequestId id, int64_t index, std::vector<int32_t> ids, std::string text,
                     std::optional<FinishReason> finish, int64_t prompt_tokens) {
  RequestOutput o;
  o.id = id;
  o.index = index;
  o.token_ids = std::move(ids);
  o.text = std::move(text);
  o.finish_reason = finish;
  o.usage.prompt_tokens = prompt_tokens;
  o.usage.completion_tokens = static_cast<int64_t>(o.token_ids.size());
  return o;
}

Logprobs logprob(int32_t id, float value, std::vector<TokenLogprob> top = {}) {
  Logprobs l;
  l.token = {id, value};
  l.num_top = static_cast<int32_t>(top.size());
  for (size_t i = 0; i < top.size(); ++i) l.top[i] = top[i];
  return l;
}

class OpenAiResponseTest : public ::testing::Test {
 protected:
  OpenAiRequest request(const std::string& body, OpenAiEndpoint endpoint) const {
    return read_openai_request(ordered_json::parse(body), endpoint,
                               {tokenizer_, static_cast<int64_t>(tokenizer_->vocab_size()), 512});
  }
  TokenText text() const { return TokenText{tokenizer_}; }
  std::vector<int32_t> ids(const std::string& s) const {
    return tokenizer_->encode(s, /*add_special_tokens=*/false);
  }

  const Tokenizer* tokenizer_ = &testing::demo_tokenizer();
};

TEST_F(OpenAiResponseTest, CompletionsIndexChoicesByPromptThenChoice) {
  const OpenAiRequest r = request(R"({"prompt": ["In the", "And God"], "n": 2, "max_tokens": 4})",
                                  OpenAiEndpoint::kCompletions);
  std::vector<Completion> completions;
  for (int p = 0; p < 2; ++p) {
    Completion c(/*request_id=*/p, /*num_choices=*/2);
    const auto n = static_cast<int64_t>(r.prompts[p].size());
    c.add(output(p, 0, {5, 6}, "ab", FinishReason::kLength, n));
    c.add(output(p, 1, {7}, "c", FinishReason::kStop, n));
    completions.push_back(std::move(c));
  }
  const json body = completions_response(kHeader, r, completions, text());
  EXPECT_EQ(body["id"], "cmpl-7");
  EXPECT_EQ(body["object"], "text_completion");
  EXPECT_EQ(body["created"], 1700000000);
  EXPECT_EQ(body["model"], "demo");
  EXPECT_EQ(body["system_fingerprint"], "fp_localmoe");
  ASSERT_EQ(body["choices"].size(), 4U);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(body["choices"][i]["index"], i);
  EXPECT_EQ(body["choices"][2]["text"], "ab");
  EXPECT_EQ(body["choices"][2]["finish_reason"], "length");
  EXPECT_EQ(body["choices"][3]["finish_reason"], "stop");
  EXPECT_TRUE(body["choices"][0]["logprobs"].is_null());
  const int64_t prompt_tokens = static_cast<int64_t>(r.prompts[0].size() + r.prompts[1].size());
  EXPECT_EQ(body["usage"]["prompt_tokens"], prompt_tokens);
  EXPECT_EQ(body["usage"]["completion_tokens"], 6);
  EXPECT_EQ(body["usage"]["total_tokens"], prompt_tokens + 6);
  EXPECT_EQ(body["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
}

TEST_F(OpenAiResponseTest, EchoWithLogprobsReportsThePromptTokens) {
  const OpenAiRequest r =
      request(R"({"prompt": "And God said", "echo": true, "logprobs": 1, "max_tokens": 2})",
              OpenAiEndpoint::kCompletions);
  ASSERT_EQ(r.sampling.prompt_logprobs, 1);
  const std::vector<int32_t>& prompt = r.prompts[0];
  const std::vector<int32_t> answer = ids(" Let there");
  Completion c(/*request_id=*/1, /*num_choices=*/1);
  RequestOutput o = output(1, 0, answer, tokenizer_->decode(answer, {.continuation = true}),
                           FinishReason::kLength, static_cast<int64_t>(prompt.size()));
  for (size_t i = 1; i < prompt.size(); ++i) o.prompt_logprobs.push_back(logprob(prompt[i], -1.5F));
  for (const int32_t id : answer) o.logprobs.push_back(logprob(id, -0.5F, {{id, -0.5F}}));
  c.add(std::move(o));
  const json body = completions_response(kHeader, r, {c}, text());
  const json& choice = body["choices"][0];
  EXPECT_EQ(choice["text"].get<std::string>(),
            tokenizer_->decode(prompt) + tokenizer_->decode(answer, {.continuation = true}));
  const json& lp = choice["logprobs"];
  ASSERT_EQ(lp["tokens"].size(), prompt.size() + answer.size());
  EXPECT_TRUE(lp["token_logprobs"][0].is_null());
  EXPECT_FLOAT_EQ(lp["token_logprobs"][1].get<float>(), -1.5F);
  EXPECT_FLOAT_EQ(lp["token_logprobs"][prompt.size()].get<float>(), -0.5F);
  int64_t offset = 0;
  for (size_t i = 0; i < lp["tokens"].size(); ++i) {
    EXPECT_EQ(lp["text_offset"][i], offset);
    offset += static_cast<int64_t>(lp["tokens"][i].get<std::string>().size());
  }
  const std::string last = TokenText{tokenizer_}.piece(answer.back());
  EXPECT_FLOAT_EQ(lp["top_logprobs"].back()[last].get<float>(), -0.5F);
}

TEST_F(OpenAiResponseTest, ChatMessageAndLogprobs) {
  const OpenAiRequest r = request(
      R"({"messages": [{"role": "user", "content": "hi"}], "logprobs": true, "top_logprobs": 1})",
      OpenAiEndpoint::kChatCompletions);
  const std::vector<int32_t> answer = ids("Amen");
  Completion c(/*request_id=*/2, /*num_choices=*/1);
  RequestOutput o = output(2, 0, answer, "Amen", FinishReason::kStop, 9);
  for (const int32_t id : answer) o.logprobs.push_back(logprob(id, -0.25F, {{id, -0.25F}}));
  c.add(std::move(o));
  const json body = chat_completions_response(kHeader, r, c, text());
  EXPECT_EQ(body["object"], "chat.completion");
  const json& choice = body["choices"][0];
  EXPECT_EQ(choice["message"], (json{{"role", "assistant"}, {"content", "Amen"}}));
  EXPECT_EQ(choice["finish_reason"], "stop");
  const json& content = choice["logprobs"]["content"];
  ASSERT_EQ(content.size(), answer.size());
  const std::string first = TokenText{tokenizer_}.piece(answer[0]);
  EXPECT_EQ(content[0]["token"], first);
  EXPECT_EQ(content[0]["bytes"].size(), first.size());
  EXPECT_EQ(content[0]["bytes"][0], static_cast<int>(static_cast<unsigned char>(first[0])));
  EXPECT_EQ(content[0]["top_logprobs"][0]["token"], first);
  EXPECT_EQ(body["usage"]["prompt_tokens"], 9);
}

TEST_F(OpenAiResponseTest, ChatStreamChunks) {
  const json first = chat_chunk(kHeader, 0, /*first=*/true, "", {}, std::nullopt, text());
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"], (json{{"role", "assistant"}, {"content", ""}}));
  EXPECT_TRUE(first["choices"][0]["finish_reason"].is_null());
  const json middle = chat_chunk(kHeader, 1, /*first=*/false, "Amen", {}, std::nullopt, text());
  EXPECT_EQ(middle["choices"][0]["index"], 1);
  EXPECT_EQ(middle["choices"][0]["delta"], (json{{"content", "Amen"}}));
  const json last = chat_chunk(kHeader, 0, /*first=*/false, "", {}, FinishReason::kLength, text());
  EXPECT_EQ(last["choices"][0]["delta"], json::object());
  EXPECT_EQ(last["choices"][0]["finish_reason"], "length");
  const json usage = usage_chunk(kHeader, "chat.completion.chunk", openai_usage(3, 4, 1));
  EXPECT_EQ(usage["choices"], json::array());
  EXPECT_EQ(usage["usage"]["total_tokens"], 7);
  EXPECT_EQ(usage["usage"]["prompt_tokens_details"]["cached_tokens"], 1);
  const json completion =
      completions_chunk(kHeader, 2, " word", {5}, {}, FinishReason::kStop, text());
  EXPECT_EQ(completion["object"], "text_completion");
  EXPECT_EQ(completion["choices"][0]["text"], " word");
  EXPECT_EQ(completion["choices"][0]["finish_reason"], "stop");
  EXPECT_TRUE(completion["choices"][0]["logprobs"].is_null());
}

TEST(OpenAiErrorTest, KindsMapToStatusAndType) {
  struct Case {
    ErrorKind kind;
    int status;
    const char* type;
    json code;
  };
  for (const Case& c : {Case{ErrorKind::kInvalidArgument, 400, "invalid_request_error", nullptr},
                        Case{ErrorKind::kUnsupported, 400, "invalid_request_error", "unsupported"},
                        Case{ErrorKind::kNotFound, 404, "invalid_request_error", "not_found"},
                        Case{ErrorKind::kIo, 500, "server_error", nullptr},
                        Case{ErrorKind::kCorrupt, 500, "server_error", nullptr}}) {
    const OpenAiError e = openai_error(Error(c.kind, "what went wrong"));
    EXPECT_EQ(e.status, c.status) << error_kind_name(c.kind);
    const json body = openai_error_body(e);
    EXPECT_EQ(body["error"]["type"], c.type);
    EXPECT_EQ(body["error"]["code"], c.code);
    EXPECT_TRUE(body["error"]["param"].is_null());
    EXPECT_NE(body["error"]["message"].get<std::string>().find("what went wrong"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace localmoe
