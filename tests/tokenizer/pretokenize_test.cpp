#include "localmoe/tokenizer/pretokenize.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "loader/expect_error.h"
#include "localmoe/base/error.h"
#include "localmoe/tokenizer/unicode.h"

namespace localmoe {
namespace {

using testing::expect_error;

std::vector<std::string> split(SplitRegex regex, std::string_view text) {
  std::vector<std::string_view> pieces;
  split_by_regex(regex, text, pieces);
  return {pieces.begin(), pieces.end()};
}

using Pieces = std::vector<std::string>;

TEST(SplitRegex, Gpt2) {
  EXPECT_EQ(split(SplitRegex::kGpt2, "Hello world  !!"), (Pieces{"Hello", " world", " ", " !!"}));
  EXPECT_EQ(split(SplitRegex::kGpt2, "I'm 42 x"), (Pieces{"I", "'m", " 42", " x"}));
  EXPECT_EQ(split(SplitRegex::kGpt2, "I'M"),
            (Pieces{"I", "'", "M"}));  // case-sensitive contractions
  EXPECT_EQ(split(SplitRegex::kGpt2, "a \n\nb"), (Pieces{"a", " \n", "\n", "b"}));
  EXPECT_EQ(split(SplitRegex::kGpt2, "end   "), (Pieces{"end", "   "}));
  EXPECT_EQ(split(SplitRegex::kGpt2, "\xC3\xA9t\xC3\xA9 2024"),
            (Pieces{"\xC3\xA9t\xC3\xA9", " 2024"}));
}

TEST(SplitRegex, Llama3) {
  EXPECT_EQ(split(SplitRegex::kLlama3, "12345"), (Pieces{"123", "45"}));
  EXPECT_EQ(split(SplitRegex::kLlama3, "I'M .word"), (Pieces{"I", "'M", " .", "word"}));
  EXPECT_EQ(split(SplitRegex::kLlama3, "x\tword"), (Pieces{"x", "\tword"}));
  EXPECT_EQ(split(SplitRegex::kLlama3, "a  \n\n  b"), (Pieces{"a", "  \n\n", " ", " b"}));
  EXPECT_EQ(split(SplitRegex::kLlama3, "!!\n\nx"), (Pieces{"!!\n\n", "x"}));
  // Oniguruma's case folding maps U+017F (long s) to 's'.
  EXPECT_EQ(split(SplitRegex::kLlama3, "it'\xC5\xBF"), (Pieces{"it", "'\xC5\xBF"}));
  // U+0085 is White_Space, as in Hugging Face's regex engine (JavaScript's
  // \s would make the pair one punctuation run).
  EXPECT_EQ(split(SplitRegex::kLlama3,
                  "a\xC2\x85\xC2\x85"
                  "b"),
            (Pieces{"a", "\xC2\x85",
                    "\xC2\x85"
                    "b"}));
}

TEST(SplitRegex, Qwen2DigitsOneByOne) {
  EXPECT_EQ(split(SplitRegex::kQwen2, "x=123"), (Pieces{"x", "=", "1", "2", "3"}));
}

TEST(SplitRegex, RecognizesOnlyKnownPatterns) {
  EXPECT_EQ(recognize_split_regex(R"(\p{N}{1,3})"), std::nullopt);
  EXPECT_EQ(recognize_split_regex(
                R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)"),
            SplitRegex::kGpt2);
}

TEST(ByteLevel, AlphabetRoundTrips) {
  const auto& alphabet = byte_level_alphabet();
  EXPECT_EQ(alphabet[' '], "\xC4\xA0");  // 'Ġ'
  EXPECT_EQ(alphabet['A'], "A");
  for (int b = 0; b < 256; ++b) {
    std::size_t pos = 0;
    EXPECT_EQ(byte_level_byte(utf8_next(alphabet[b], pos)), b);
    EXPECT_EQ(pos, alphabet[b].size());
  }
}

TEST(PreTokenizer, MetaspacePrependSchemes) {
  std::vector<std::string> words;
  auto metaspace = [](const char* scheme, bool split) {
    return PreTokenizer::from_json(nlohmann::json{{"type", "Metaspace"},
                                                  {"replacement", "\xE2\x96\x81"},
                                                  {"prepend_scheme", scheme},
                                                  {"split", split}});
  };
  metaspace("first", false).pre_tokenize("Hey you", /*at_text_start=*/true, words);
  EXPECT_EQ(words, (Pieces{"\xE2\x96\x81Hey\xE2\x96\x81you"}));
  metaspace("first", false).pre_tokenize("Hey", /*at_text_start=*/false, words);
  EXPECT_EQ(words, (Pieces{"Hey"}));
  metaspace("always", true).pre_tokenize("Hey  you", /*at_text_start=*/false, words);
  EXPECT_EQ(words, (Pieces{"\xE2\x96\x81Hey", "\xE2\x96\x81", "\xE2\x96\x81you"}));
  metaspace("never", false).pre_tokenize(" x", /*at_text_start=*/true, words);
  EXPECT_EQ(words, (Pieces{"\xE2\x96\x81x"}));
}

TEST(PreTokenizer, RejectsUnsupportedConfigurations) {
  expect_error(
      [] {
        PreTokenizer::from_json(nlohmann::json{{"type", "BertPreTokenizer"}});
      },
      ErrorKind::kUnsupported, {"pre_tokenizer type 'BertPreTokenizer' is not supported"});
  expect_error(
      [] {
        PreTokenizer::from_json(
            nlohmann::json{{"type", "Split"}, {"pattern", {{"Regex", "\\d+"}}}});
      },
      ErrorKind::kUnsupported, {"pre_tokenizer Split: unsupported regex '\\d+'"});
  expect_error([] { PreTokenizer::from_json(nlohmann::json::array()); },
               ErrorKind::kInvalidArgument, {"pre_tokenizer: expected an object with a \"type\""});
}

}  // namespace
}  // namespace localmoe
