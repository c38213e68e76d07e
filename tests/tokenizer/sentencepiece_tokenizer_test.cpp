#include "localmoe/tokenizer/sentencepiece_tokenizer.h"

#include <sentencepiece_trainer.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "localmoe/base/error.h"

namespace localmoe {
namespace {

// Trains a tiny BPE tokenizer.model with byte fallback (deterministic for a
// fixed input) and loads it the way a checkpoint without tokenizer.json is.
class SentencePieceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::filesystem::temp_directory_path() / "localmoe_sentencepiece_test";
    std::filesystem::create_directories(dir_);
    {
      std::ofstream text(dir_ / "train.txt");
      for (int i = 0; i < 200; ++i)
        text << "the quick brown fox jumps over the lazy dog " << i
             << "\nhello world, tokenizers split words\n";
    }
    const auto status = sentencepiece::SentencePieceTrainer::Train(
        "--input=" + (dir_ / "train.txt").string() +
        " --model_prefix=" + (dir_ / "tokenizer").string() +
        " --model_type=bpe --vocab_size=300 --byte_fallback=true --num_threads=1 --minloglevel=2");
    ASSERT_TRUE(status.ok()) << status.ToString();
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }

  static std::filesystem::path dir_;
};
std::filesystem::path SentencePieceTest::dir_;

TEST_F(SentencePieceTest, LoadsThroughTheFactoryAndRoundTrips) {
  const auto tokenizer = load_tokenizer(dir_.string());
  const auto ids = tokenizer->encode("hello world \xE4\xB8\xAD");
  ASSERT_TRUE(tokenizer->bos_id().has_value());
  EXPECT_EQ(ids.front(), *tokenizer->bos_id());
  DecodeOptions skip;
  skip.skip_special_tokens = true;
  EXPECT_EQ(tokenizer->decode(ids, skip), "hello world \xE4\xB8\xAD");
  EXPECT_EQ(tokenizer->encode("hello", false).front() == *tokenizer->bos_id(), false);
}

TEST_F(SentencePieceTest, ControlPiecesInTextAreTokensAndEosFollowsTheConfig) {
  TokenizerConfig config;
  config.add_eos_token = true;
  const SentencePieceTokenizer tokenizer((dir_ / "tokenizer.model").string(), config);
  const auto ids = tokenizer.encode("hi</s>there");
  ASSERT_TRUE(tokenizer.eos_id().has_value());
  EXPECT_EQ(std::count(ids.begin(), ids.end(), *tokenizer.eos_id()), 2);
  EXPECT_EQ(ids.back(), *tokenizer.eos_id());
  EXPECT_TRUE(tokenizer.is_special(*tokenizer.eos_id()));
  EXPECT_THROW(tokenizer.decode(std::vector<int32_t>{100000}), Error);
}

TEST(SentencePiece, BadModelFileIsAnError) {
  const auto path = std::filesystem::temp_directory_path() / "localmoe_bad_tokenizer.model";
  std::ofstream(path) << "not a model";
  EXPECT_THROW(SentencePieceTokenizer(path.string(), {}), Error);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace localmoe
