// The tokenizer.model adapter against libsentencepiece itself: two models
// trained on real text (the demo model's held-out King James chapters), a BPE
// with byte fallback and a unigram without, must give libsentencepiece's ids
// for every string of the tokenizer conformance corpus (prose, code, CJK,
// emoji, whitespace runs, invalid UTF-8, special-token look-alikes) and of the
// held-out text, and decode them to the same text.

#include "localmoe/tokenizer/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "loader/expect_error.h"
#include "localmoe/base/error.h"
#include "localmoe/tokenizer/unicode.h"
#include "tokenizer/conformance_corpus.h"

namespace localmoe {
namespace {

using testing::expect_error;

namespace fs = std::filesystem;

const fs::path kHeldOut = fs::path(LOCALMOE_SOURCE_DIR) / "models/demo/heldout.txt";

class SentencePieceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // One directory per process: CTest runs each case as its own process, in parallel.
    dir_ =
        fs::temp_directory_path() / ("localmoe_sentencepiece_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    train("bpe", "--model_type=bpe --vocab_size=1000 --byte_fallback=true");
    train("unigram", "--model_type=unigram --vocab_size=1000");
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  // Trains <dir>/<name>/tokenizer.model; deterministic for a fixed input.
  static void train(const std::string& name, const std::string& flags) {
    fs::create_directories(dir_ / name);
    const auto status = sentencepiece::SentencePieceTrainer::Train(
        "--input=" + kHeldOut.string() + " --model_prefix=" + (dir_ / name / "tokenizer").string() +
        " " + flags + " --num_threads=1 --minloglevel=2");
    ASSERT_TRUE(status.ok()) << name << ": " << status.ToString();
  }

  static std::string model_path(const std::string& name) {
    return (dir_ / name / "tokenizer.model").string();
  }

  static fs::path dir_;
};
fs::path SentencePieceTest::dir_;

// The conformance corpus, then every line of the held-out text.
std::vector<std::string> comparison_texts() {
  std::vector<std::string> texts = conformance::read_corpus(LOCALMOE_TOKENIZER_CORPUS);
  for (std::string& line : conformance::read_lines(kHeldOut.string())) texts.push_back(line);
  return texts;
}

// libsentencepiece's ids for `text`, with the control pieces written in the
// text ("<s>", "</s>") taken as their tokens, the way transformers' slow
// LlamaTokenizer splits text on special tokens before SentencePiece runs.
std::vector<int> reference_ids(const sentencepiece::SentencePieceProcessor& sp,
                               std::string_view text) {
  std::vector<std::pair<std::string, int>> controls;
  for (int id = 0; id < sp.GetPieceSize(); ++id) {
    if (sp.IsControl(id) && !sp.IdToPiece(id).empty()) controls.emplace_back(sp.IdToPiece(id), id);
  }
  std::vector<int> ids;
  while (!text.empty()) {
    size_t first = text.size();
    const std::pair<std::string, int>* control = nullptr;
    for (const auto& c : controls) {
      const size_t at = text.find(c.first);
      if (at < first || (at == first && control && c.first.size() > control->first.size())) {
        first = at;
        control = &c;
      }
    }
    if (first > 0) {
      const std::vector<int> piece = sp.EncodeAsIds(text.substr(0, first));
      ids.insert(ids.end(), piece.begin(), piece.end());
    }
    if (control == nullptr) break;
    ids.push_back(control->second);
    text.remove_prefix(first + control->first.size());
  }
  return ids;
}

TEST_F(SentencePieceTest, IdsAndTextMatchLibsentencepieceOnTheCorpus) {
  const std::vector<std::string> texts = comparison_texts();
  ASSERT_GT(texts.size(), 1900u);
  for (const char* name : {"bpe", "unigram"}) {
    SCOPED_TRACE(name);
    sentencepiece::SentencePieceProcessor sp;
    ASSERT_TRUE(sp.Load(model_path(name)).ok());
    const SentencePieceTokenizer ours(model_path(name), {});
    ASSERT_TRUE(ours.bos_id().has_value());
    DecodeOptions verbatim;
    verbatim.clean_up_tokenization_spaces = false;
    int id_mismatches = 0, text_mismatches = 0, texts_with_unknowns = 0, invalid_utf8 = 0;
    for (const std::string& raw : texts) {
      // Invalid UTF-8 reaches SentencePiece replaced the way Python's
      // bytes.decode(errors="replace") does, as in the string a transformers
      // user would hold; libsentencepiece on its own replaces byte by byte.
      const std::string text = utf8_sanitize(raw);
      if (text != raw) ++invalid_utf8;
      const std::vector<int> want = reference_ids(sp, text);
      const std::vector<int32_t> got = ours.encode(raw, /*add_special_tokens=*/false);
      if (!std::equal(got.begin(), got.end(), want.begin(), want.end())) {
        if (++id_mismatches <= 5) ADD_FAILURE() << "ids differ for '" << raw << "'";
        continue;
      }
      std::vector<int32_t> with_bos = ours.encode(raw);
      ASSERT_FALSE(with_bos.empty());
      EXPECT_EQ(with_bos.front(), *ours.bos_id());
      with_bos.erase(with_bos.begin());
      EXPECT_EQ(with_bos, got);
      // libsentencepiece renders <unk> as " ⁇ ", transformers (and we) as its
      // piece: the texts are compared where every piece is a real one.
      const std::vector<int> plain = sp.EncodeAsIds(text);
      if (std::any_of(plain.begin(), plain.end(), [&](int id) { return sp.IsUnknown(id); })) {
        ++texts_with_unknowns;
        continue;
      }
      const std::vector<int32_t> plain32(plain.begin(), plain.end());
      if (ours.decode(plain32, verbatim) != sp.DecodeIds(plain)) {
        if (++text_mismatches <= 5) ADD_FAILURE() << "decoded text differs for '" << raw << "'";
      }
    }
    EXPECT_EQ(id_mismatches, 0);
    EXPECT_EQ(text_mismatches, 0);
    EXPECT_GT(invalid_utf8, 20);
    // The byte-fallback model never needs <unk>; the unigram one does for
    // characters outside the English training text, so both paths are covered.
    if (std::string_view(name) == "bpe") {
      EXPECT_EQ(texts_with_unknowns, 0);
    } else {
      EXPECT_GT(texts_with_unknowns, 100);
    }
  }
}

TEST_F(SentencePieceTest, LoadsThroughTheFactoryAndRoundTrips) {
  const auto tokenizer = load_tokenizer((dir_ / "bpe").string());
  const auto ids = tokenizer->encode("hello world \xE4\xB8\xAD");
  ASSERT_TRUE(tokenizer->bos_id().has_value());
  EXPECT_EQ(ids.front(), *tokenizer->bos_id());
  DecodeOptions skip;
  skip.skip_special_tokens = true;
  EXPECT_EQ(tokenizer->decode(ids, skip), "hello world \xE4\xB8\xAD");
  EXPECT_NE(tokenizer->encode("hello", false).front(), *tokenizer->bos_id());
}

TEST_F(SentencePieceTest, ControlPiecesInTextAreTokensAndEosFollowsTheConfig) {
  TokenizerConfig config;
  config.add_eos_token = true;
  const SentencePieceTokenizer tokenizer(model_path("bpe"), config);
  const auto ids = tokenizer.encode("hi</s>there");
  ASSERT_TRUE(tokenizer.eos_id().has_value());
  EXPECT_EQ(std::count(ids.begin(), ids.end(), *tokenizer.eos_id()), 2);
  EXPECT_EQ(ids.back(), *tokenizer.eos_id());
  EXPECT_TRUE(tokenizer.is_special(*tokenizer.eos_id()));
  expect_error([&] { tokenizer.decode(std::vector<int32_t>{100000}); }, ErrorKind::kInvalidArgument,
               {"token id 100000 is not in the vocabulary"});
}

TEST(SentencePiece, BadModelFileIsAnErrorNamingIt) {
  const auto path = fs::temp_directory_path() /
                    ("localmoe_bad_tokenizer_" + std::to_string(::getpid()) + ".model");
  std::ofstream(path) << "not a model";
  expect_error([&] { SentencePieceTokenizer(path.string(), {}); }, ErrorKind::kInvalidArgument,
               {"file '" + path.string() + "': "});
  fs::remove(path);
}

}  // namespace
}  // namespace localmoe
