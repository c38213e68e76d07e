// /v1/models, /tokenize and /detokenize bodies on the demo model's tokenizer.

#include "localmoe/server/admin.h"

#include <gtest/gtest.h>

#include <string>

#include "loader/expect_error.h"
#include "test_support/demo_tokenizer.h"

namespace localmoe {
namespace {

using localmoe::testing::expect_error;
using nlohmann::ordered_json;

class AdminTest : public ::testing::Test {
 protected:
  OpenAiModelLimits limits() const {
    return {tokenizer_, static_cast<int64_t>(tokenizer_->vocab_size()), 256};
  }
  const Tokenizer* tokenizer_ = &testing::demo_tokenizer();
};

TEST_F(AdminTest, ModelsListEveryServedModel) {
  const ServedModelInfo models[] = {{"demo", "models/demo", 1700000000, 256},
                                    {"other", "/m/other", 1700000001, 4096}};
  const nlohmann::json list = models_list(models);
  EXPECT_EQ(list["object"], "list");
  ASSERT_EQ(list["data"].size(), 2U);
  EXPECT_EQ(list["data"][0]["id"], "demo");
  EXPECT_EQ(list["data"][0]["object"], "model");
  EXPECT_EQ(list["data"][0]["owned_by"], "localmoe");
  EXPECT_EQ(list["data"][1]["max_model_len"], 4096);
  EXPECT_EQ(list["data"][1]["root"], "/m/other");
}

TEST_F(AdminTest, TokenizeAndDetokenizeRoundTrip) {
  const nlohmann::json t =
      tokenize_response(ordered_json::parse(R"({"prompt": "In the beginning"})"), limits());
  const std::vector<int32_t> ids = tokenizer_->encode("In the beginning", true);
  EXPECT_EQ(t["tokens"].get<std::vector<int32_t>>(), ids);
  EXPECT_EQ(t["count"], ids.size());
  EXPECT_EQ(t["max_model_len"], 256);
  const nlohmann::json plain = tokenize_response(
      ordered_json::parse(R"({"prompt": "In the beginning", "add_special_tokens": false})"),
      limits());
  EXPECT_EQ(plain["tokens"].get<std::vector<int32_t>>(),
            tokenizer_->encode("In the beginning", false));
  ordered_json back;
  back["tokens"] = ids;
  EXPECT_EQ(detokenize_response(back, limits())["prompt"], tokenizer_->decode(ids));
}

TEST_F(AdminTest, TokenizeChatUsesTheTemplate) {
  const ordered_json body = ordered_json::parse(
      R"({"messages": [{"role": "user", "content": "hi"}], "add_generation_prompt": false})");
  EXPECT_EQ(tokenize_response(body, limits())["tokens"].get<std::vector<int32_t>>(),
            encode_chat_messages(body["messages"], *tokenizer_, false));
}

TEST_F(AdminTest, ErrorsNameTheField) {
  expect_error([&] { tokenize_response(ordered_json::parse(R"({})"), limits()); },
               ErrorKind::kInvalidArgument, {"exactly one of 'prompt' and 'messages'"});
  expect_error([&] { tokenize_response(ordered_json::parse(R"({"prompt": 3})"), limits()); },
               ErrorKind::kInvalidArgument, {"'prompt' must be a string"});
  expect_error([&] { detokenize_response(ordered_json::parse(R"({"tokens": "x"})"), limits()); },
               ErrorKind::kInvalidArgument, {"'tokens' must be an array"});
  expect_error(
      [&] { detokenize_response(ordered_json::parse(R"({"tokens": [1, 99999999]})"), limits()); },
      ErrorKind::kInvalidArgument, {"token id 99999999", "past the vocabulary"});
}

}  // namespace
}  // namespace localmoe
