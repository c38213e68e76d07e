#include "localmoe/tokenizer/hf_tokenizer.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "loader/expect_error.h"
#include "localmoe/base/error.h"
#include "localmoe/tokenizer/chat_template.h"
#include "localmoe/tokenizer/detokenizer.h"

namespace localmoe {
namespace {

using testing::expect_error;

// A byte-level BPE over the 256 byte symbols (ids 0-255) with a few merges,
// and added tokens exercising each flag.
nlohmann::json byte_level_json() {
  nlohmann::json vocab = nlohmann::json::object();
  const auto& alphabet = byte_level_alphabet();
  for (int b = 0; b < 256; ++b) vocab[alphabet[b]] = b;
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"h", "e"},        {"l", "l"}, {"he", "ll"},       {"hell", "o"},
      {"\xC4\xA0", "w"}, {"o", "r"}, {"\xC4\xA0w", "or"}};
  nlohmann::json merge_list = nlohmann::json::array();
  int next = 256;
  for (const auto& [a, b] : merges) {
    vocab[a + b] = next++;
    merge_list.push_back(a + " " + b);
  }
  auto added = [](int id, const char* content, bool special, bool lstrip, bool rstrip,
                  bool single_word) {
    return nlohmann::json{{"id", id},           {"content", content}, {"special", special},
                          {"lstrip", lstrip},   {"rstrip", rstrip},   {"single_word", single_word},
                          {"normalized", false}};
  };
  return {
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merge_list}}},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"added_tokens",
       {added(300, "<|end|>", true, false, false, false),
        added(301, "<mask>", false, true, true, false),
        added(302, "[W]", false, false, false, true)}}};
}

std::unique_ptr<HfTokenizer> byte_level() {
  return HfTokenizer::from_json(byte_level_json(), {}, "test.json");
}

using Ids = std::vector<int32_t>;

TEST(HfTokenizer, ByteLevelBpeMergesByRank) {
  const auto t = byte_level();
  EXPECT_EQ(t->encode("hello"), (Ids{259}));  // h e -> he, l l -> ll, he ll, hell o
  EXPECT_EQ(t->encode("hello world"), (Ids{259, 262, 'l', 'd'}));  // "Ġwor" + l + d
  EXPECT_EQ(t->decode(t->encode("hello world \xF0\x9F\x98\x80")), "hello world \xF0\x9F\x98\x80");
}

TEST(HfTokenizer, AddedTokenFlags) {
  const auto t = byte_level();
  EXPECT_EQ(t->encode("a<|end|>b"), (Ids{'a', 300, 'b'}));
  EXPECT_EQ(t->encode("x <mask>  y"), (Ids{'x', 301, 'y'}));  // lstrip + rstrip take the spaces
  EXPECT_EQ(t->encode("a[W]b").size(), 5u);                   // single_word: not inside a word
  EXPECT_EQ(t->encode("a [W] b"), (Ids{'a', ' ', 302, ' ', 'b'}));  // byte ' ' is id 32 ('Ġ')
  DecodeOptions skip;
  skip.skip_special_tokens = true;
  EXPECT_EQ(t->decode(Ids{'a', 300, 301, 'b'}, skip), "a<mask>b");
  EXPECT_EQ(t->decode(Ids{'a', 300, 'b'}), "a<|end|>b");
  EXPECT_TRUE(t->is_special(300));
  EXPECT_FALSE(t->is_special(301));
  EXPECT_EQ(t->token_to_id("<mask>"), 301);
}

TEST(HfTokenizer, Gpt2ClassesDefaultTheirSpecialTokensToEndOfText) {
  auto json = byte_level_json();
  json["added_tokens"].push_back(
      {{"id", 303}, {"content", "<|endoftext|>"}, {"special", true}, {"normalized", false}});
  EXPECT_EQ(HfTokenizer::from_json(json, {}, "t.json")->eos_id(), 303);
  TokenizerConfig llama;
  llama.tokenizer_class = "PreTrainedTokenizerFast";
  EXPECT_EQ(HfTokenizer::from_json(json, llama, "t.json")->eos_id(), std::nullopt);
}

TEST(HfTokenizer, InvalidUtf8BecomesReplacementCharacters) {
  const auto t = byte_level();
  EXPECT_EQ(t->encode("a\xFF"
                      "b"),
            t->encode("a\xEF\xBF\xBD"
                      "b"));
  expect_error([&] { t->decode(Ids{999}); }, ErrorKind::kInvalidArgument,
               {"token id 999 is not in the vocabulary"});
}

// SentencePiece-style BPE: Llama-2's legacy normalizer (Prepend + Replace),
// byte fallback, and the Replace / ByteFallback / Fuse / Strip decoder.
nlohmann::json sentencepiece_json() {
  nlohmann::json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    vocab[name] = 3 + b;
  }
  int next = 259;
  for (const char* piece : {"\xE2\x96\x81", "h", "i", "\xE2\x96\x81h", "\xE2\x96\x81hi"})
    vocab[piece] = next++;
  return {
      {"model",
       {{"type", "BPE"},
        {"vocab", vocab},
        {"merges", {"\xE2\x96\x81 h", "\xE2\x96\x81h i"}},
        {"unk_token", "<unk>"},
        {"byte_fallback", true},
        {"fuse_unk", true}}},
      {"normalizer",
       {{"type", "Sequence"},
        {"normalizers",
         {{{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}},
          {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}}}}}},
      {"decoder",
       {{"type", "Sequence"},
        {"decoders",
         {{{"type", "Replace"}, {"pattern", {{"String", "\xE2\x96\x81"}}}, {"content", " "}},
          {{"type", "ByteFallback"}},
          {{"type", "Fuse"}},
          {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single",
         {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
          {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}}},
      {"added_tokens",
       {{{"id", 0}, {"content", "<unk>"}, {"special", true}, {"normalized", false}},
        {{"id", 1}, {"content", "<s>"}, {"special", true}, {"normalized", false}},
        {{"id", 2}, {"content", "</s>"}, {"special", true}, {"normalized", false}}}}};
}

TEST(HfTokenizer, SentencePieceStyleWithByteFallback) {
  const auto t = HfTokenizer::from_json(sentencepiece_json(), {}, "sp.json");
  const int hi = 263;  // "▁hi"
  EXPECT_EQ(t->encode("hi"), (Ids{1, hi}));
  EXPECT_EQ(t->encode("hi", false), (Ids{hi}));
  // 'é' is not in the vocabulary: its two UTF-8 bytes become <0xC3> <0xA9>.
  EXPECT_EQ(t->encode("hi\xC3\xA9", false), (Ids{hi, 3 + 0xC3, 3 + 0xA9}));
  EXPECT_EQ(t->decode(t->encode("hi hi\xC3\xA9", false)), "hi hi\xC3\xA9");
  EXPECT_EQ(t->decode(t->encode("hi")), "<s> hi");  // as transformers: the BOS text stays
  // A run of byte tokens that is not UTF-8 gives one U+FFFD per byte.
  EXPECT_EQ(t->decode(Ids{hi, 3 + 0xC3, 3 + 0x41}), "hi\xEF\xBF\xBD\xEF\xBF\xBD");
  // Legacy Llama: the segment after an added token is prefixed with ▁ again.
  EXPECT_EQ(t->encode("hi</s>hi", false), (Ids{hi, 2, hi}));
}

TEST(HfTokenizer, ConfigAddBosAddEosRebuildTheTemplateForLlamaClasses) {
  TokenizerConfig config;
  config.tokenizer_class = "LlamaTokenizer";
  config.bos_token = "<s>";
  config.eos_token = "</s>";
  config.add_eos_token = true;
  const auto with_eos = HfTokenizer::from_json(sentencepiece_json(), config, "sp.json");
  EXPECT_EQ(with_eos->encode("hi"), (Ids{1, 263, 2}));
  config.add_bos_token = false;
  const auto eos_only = HfTokenizer::from_json(sentencepiece_json(), config, "sp.json");
  EXPECT_EQ(eos_only->encode("hi"), (Ids{263, 2}));
  config.tokenizer_class = "Qwen2Tokenizer";  // not rebuilt: tokenizer.json's template stays
  EXPECT_EQ(HfTokenizer::from_json(sentencepiece_json(), config, "sp.json")->encode("hi"),
            (Ids{1, 263}));
}

TEST(Decoder, MetaspaceDropsReplacementCharactersOfTheFirstToken) {
  const Decoder d = Decoder::from_json(
      {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "always"}});
  EXPECT_EQ(d.decode({"\xE2\x96\x81Hey",
                      "\xE2\x96\x81"
                      "friend"},
                     false),
            "Hey friend");
  EXPECT_EQ(d.decode({"\xE2\x96\x81Hey",
                      "\xE2\x96\x81"
                      "friend"},
                     true),
            " Hey friend");
  expect_error(
      [] {
        Decoder::from_json({{"type", "WordPiece"}});
      },
      ErrorKind::kUnsupported, {"decoder type 'WordPiece' is not supported"});
}

TEST(IncrementalDetokenizer, HoldsPartialCharactersAndMatchesDecode) {
  const auto t = HfTokenizer::from_json(sentencepiece_json(), {}, "sp.json");
  IncrementalDetokenizer d(*t);
  EXPECT_EQ(d.add(263), "hi");     // first token: leading space stripped
  EXPECT_EQ(d.add(3 + 0xE4), "");  // 中 = E4 B8 AD arrives byte by byte
  EXPECT_EQ(d.add(3 + 0xB8), "");
  EXPECT_EQ(d.add(3 + 0xAD), "");  // still inside a byte run
  EXPECT_EQ(d.add(263), "\xE4\xB8\xAD hi");
  EXPECT_EQ(d.finish(), "");
  const auto bl = byte_level();
  IncrementalDetokenizer s(*bl);
  std::string streamed;
  const Ids ids = bl->encode("h\xC3\xA9llo \xF0\x9F\x98\x80!");
  for (int32_t id : ids) streamed += s.add(id);
  streamed += s.finish();
  EXPECT_EQ(streamed, bl->decode(ids));
}

TEST(LoadTokenizer, Gpt2VocabAndMergesWithDialoGptDefaults) {
  const auto dir = std::filesystem::temp_directory_path() / "localmoe_tokenizer_test_gpt2";
  std::filesystem::create_directories(dir);
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_level_alphabet()[b]] = b;
  vocab["he"] = 256;
  vocab["<|endoftext|>"] = 257;
  std::ofstream(dir / "vocab.json") << vocab.dump();
  std::ofstream(dir / "merges.txt") << "#version: 0.2\nh e\n";
  const auto t = load_tokenizer(dir.string());
  EXPECT_EQ(t->encode("hehe<|endoftext|>"), (Ids{256, 256, 257}));
  EXPECT_EQ(t->eos_id(), 257);
  // No chat template: each turn's content followed by EOS.
  const auto messages = nlohmann::ordered_json::parse(
      R"([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}])");
  EXPECT_EQ(ChatTemplate::for_tokenizer(*t).render(messages, true),
            "Hi<|endoftext|>Yo<|endoftext|>");
  std::ofstream(dir / "merges.txt") << "#version: 0.2\nh e x\n";
  expect_error([&] { load_tokenizer(dir.string()); }, ErrorKind::kInvalidArgument,
               {"file '" + (dir / "merges.txt").string() +
                "': line 2: expected two tokens separated by one space"});
  std::filesystem::remove_all(dir);
}

TEST(LoadTokenizer, ErrorsNameTheFileAndKey) {
  const auto dir = std::filesystem::temp_directory_path() / "localmoe_tokenizer_test_bad";
  std::filesystem::create_directories(dir);
  auto json = byte_level_json();
  json["model"]["merges"].push_back("zz qq");
  std::ofstream(dir / "tokenizer.json") << json.dump();
  try {
    load_tokenizer(dir.string());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("tokenizer.json"), std::string::npos) << what;
    EXPECT_NE(what.find("model"), std::string::npos) << what;
    EXPECT_NE(what.find("zz qq"), std::string::npos) << what;
  }
  std::ofstream(dir / "tokenizer.json") << "{not json";
  expect_error([&] { load_tokenizer(dir.string()); }, ErrorKind::kInvalidArgument,
               {"file '" + (dir / "tokenizer.json").string() + "': invalid JSON: "});
  std::filesystem::remove_all(dir);
  expect_error([&] { load_tokenizer(dir.string()); }, ErrorKind::kNotFound,
               {"model directory '" + dir.string() + "' does not exist"});
}

}  // namespace
}  // namespace localmoe
