#include "localmoe/engine/stop_checker.h"

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "localmoe/tokenizer/hf_tokenizer.h"
#include "localmoe/tokenizer/pretokenize.h"
#include "localmoe/tokenizer/unicode.h"

namespace localmoe {
namespace {

// Byte-level tokens: ids 0-255 are the bytes themselves ('a' is 97), a few
// multi-character tokens above, and a special end-of-text token.
constexpr int32_t kAb = 256, kBc = 257, kCd = 258, kXyz = 259, kEnd = 300;
const std::vector<int64_t> kEos = {kEnd};

std::unique_ptr<HfTokenizer> make_tokenizer() {
  const auto& alphabet = byte_level_alphabet();
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[alphabet[b]] = b;
  vocab["ab"] = kAb;
  vocab["bc"] = kBc;
  vocab["cd"] = kCd;
  vocab["xyz"] = kXyz;
  return HfTokenizer::from_json(
      {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::array()}}},
       {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}}},
       {"decoder", {{"type", "ByteLevel"}}},
       {"added_tokens",
        {{{"id", kEnd}, {"content", "<|end|>"}, {"special", true}, {"normalized", false}}}}},
      {}, "test.json");
}

const Tokenizer& tokenizer() {
  static const std::unique_ptr<HfTokenizer> t = make_tokenizer();
  return *t;
}

SamplingParams with_stops(std::vector<std::string> stop) {
  SamplingParams params;
  params.max_tokens = 100;
  params.stop = std::move(stop);
  params.validate();
  return params;
}

struct Streamed {
  std::vector<std::string> deltas;  // one per token
  std::string text;
  std::optional<Finish> finish;
  size_t finished_at = 0;  // tokens taken
};

Streamed stream(const SamplingParams& params, const std::vector<int32_t>& ids) {
  StopChecker checker(params, &tokenizer(), kEos, params.max_tokens);
  Streamed r;
  for (int32_t id : ids) {
    StopStep step = checker.add(id);
    EXPECT_TRUE(utf8_is_valid(step.text)) << step.text;
    r.deltas.push_back(step.text);
    r.text += step.text;
    ++r.finished_at;
    if (step.finish) {
      r.finish = step.finish;
      EXPECT_TRUE(checker.finished());
      break;
    }
  }
  return r;
}

using Deltas = std::vector<std::string>;

TEST(StopChecker, StopStringSplitAcrossTokens) {
  const Streamed r = stream(with_stops({"bc"}), {kAb, 'c', 'd'});
  EXPECT_EQ(r.deltas, (Deltas{"a", ""}));  // "b" is held back, then is part of the stop
  ASSERT_TRUE(r.finish);
  EXPECT_EQ(r.finish->reason, FinishReason::kStop);
  EXPECT_EQ(r.finish->stop_string_index, 0u);
  EXPECT_EQ(r.finish->stop_token_id, std::nullopt);
  EXPECT_EQ(finish_reason_name(r.finish->reason), "stop");
}

TEST(StopChecker, HeldTextIsReleasedOnceItCannotStartAStop) {
  const Streamed r = stream(with_stops({"bcd"}), {kAb, 'c', 'x', kBc, 'y'});
  // "b", then "bc" wait; "bcx" cannot match; "bc" waits again; "bcy" goes.
  EXPECT_EQ(r.deltas, (Deltas{"a", "", "bcx", "", "bcy"}));
  EXPECT_FALSE(r.finish);
}

TEST(StopChecker, OnlyTheEndThatCouldStartAStopIsHeld) {
  // The fixed-length buffer of vLLM would hold back "xyzab" here.
  const Streamed r = stream(with_stops({"abcdef"}), {kXyz, kAb});
  EXPECT_EQ(r.deltas, (Deltas{"xyz", ""}));
}

TEST(StopChecker, OverlappingStopsTheEarliestCompletedWins) {
  // "abc": "bc" completes before "abcd" could; the text before it is kept.
  Streamed r = stream(with_stops({"abcd", "bc"}), {'a', 'b', 'c', 'd'});
  EXPECT_EQ(r.deltas, (Deltas{"", "", "a"}));
  EXPECT_EQ(r.finish->stop_string_index, 1u);
  // Both complete in one token's text: the one ending first wins, whatever
  // the list order.
  r = stream(with_stops({"cd", "bc"}), {'a', kBc});
  EXPECT_EQ(r.text, "a");
  EXPECT_EQ(r.finish->stop_string_index, 1u);
  r = stream(with_stops({"cd", "bc"}), {'a', 'b', kCd});
  EXPECT_EQ(r.text, "a");
  EXPECT_EQ(r.finish->stop_string_index, 1u);
  // The same end: list order decides.
  r = stream(with_stops({"xyz", "yz"}), {kXyz});
  EXPECT_EQ(r.finish->stop_string_index, 0u);
  r = stream(with_stops({"yz", "xyz"}), {kXyz});
  EXPECT_EQ(r.finish->stop_string_index, 0u);
  EXPECT_EQ(r.text, "x");
}

TEST(StopChecker, StopInTheFirstToken) {
  const Streamed r = stream(with_stops({"b"}), {kBc});
  EXPECT_EQ(r.text, "");
  ASSERT_TRUE(r.finish);
  EXPECT_EQ(r.finished_at, 1u);
}

TEST(StopChecker, TextAfterTheStopInTheSameTokenIsDropped) {
  const Streamed r = stream(with_stops({"b"}), {'x', kAb});
  EXPECT_EQ(r.text, "xa");
}

TEST(StopChecker, StopStringsOfMultiByteCharacters) {
  // 中 = E4 B8 AD arrives one byte token at a time; the detokenizer emits it
  // whole, and only then can the stop match.
  Streamed r = stream(with_stops({"\xE4\xB8\xAD"}), {'a', 0xE4, 0xB8, 0xAD, 'b'});
  EXPECT_EQ(r.deltas, (Deltas{"a", "", "", ""}));
  EXPECT_EQ(r.finished_at, 4u);
  // A stop string starting with it: the character is held back whole.
  r = stream(with_stops({"\xE4\xB8\xAD"
                         "b"}),
             {'a', 0xE4, 0xB8, 0xAD, 'c'});
  EXPECT_EQ(r.deltas, (Deltas{"a", "", "", "",
                              "\xE4\xB8\xAD"
                              "c"}));
  // é (C3 A9) shares no character with 中's bytes: no false match.
  r = stream(with_stops({"\xC3\xA9"}), {0xE4, 0xB8, 0xAD, 0xC3, 0xA9});
  EXPECT_EQ(r.text, "\xE4\xB8\xAD");
  EXPECT_EQ(r.finish->stop_string_index, 0u);
}

TEST(StopChecker, IncludeStopStringInOutput) {
  SamplingParams params = with_stops({"bc"});
  params.include_stop_str_in_output = true;
  const Streamed r = stream(params, {kAb, kCd, 'e'});
  // Nothing is held back: the stop string is returned anyway; what follows
  // it in the same token is not.
  EXPECT_EQ(r.deltas, (Deltas{"ab", "c"}));
  EXPECT_EQ(r.finish->stop_string_index, 0u);
}

TEST(StopChecker, EosEndsWithoutItsText) {
  SamplingParams params = with_stops({});
  params.skip_special_tokens = false;
  Streamed r = stream(params, {'a', kEnd, 'b'});
  EXPECT_EQ(r.text, "a");
  EXPECT_EQ(r.finished_at, 2u);
  EXPECT_EQ(r.finish->reason, FinishReason::kStop);
  EXPECT_EQ(r.finish->stop_token_id, std::nullopt);
  EXPECT_EQ(r.finish->stop_string_index, std::nullopt);
  params.include_stop_str_in_output = true;
  r = stream(params, {'a', kEnd});
  EXPECT_EQ(r.text, "a<|end|>");
  params.ignore_eos = true;
  r = stream(params, {'a', kEnd, 'b'});
  EXPECT_EQ(r.text, "a<|end|>b");
  EXPECT_FALSE(r.finish);
}

TEST(StopChecker, StopTokenIdsReportTheirId) {
  SamplingParams params = with_stops({});
  params.stop_token_ids = {'x'};
  Streamed r = stream(params, {'a', 'x', 'b'});
  EXPECT_EQ(r.text, "a");
  EXPECT_EQ(r.finish->reason, FinishReason::kStop);
  EXPECT_EQ(r.finish->stop_token_id, 'x');
  params.include_stop_str_in_output = true;
  r = stream(params, {'a', 'x'});
  EXPECT_EQ(r.text, "ax");
}

TEST(StopChecker, HeldTextIsReleasedAtEos) {
  const Streamed r = stream(with_stops({"bc"}), {kAb, kEnd});
  EXPECT_EQ(r.deltas, (Deltas{"a", "b"}));
  EXPECT_EQ(r.finish->reason, FinishReason::kStop);
}

TEST(StopChecker, MinTokensSuppressesEosStopIdsAndStopStrings) {
  SamplingParams params = with_stops({"a"});
  params.stop_token_ids = {'x'};
  params.min_tokens = 3;
  // EOS, a stop id and a stop string within the first three tokens do not
  // end the request; their texts stay (EOS's is a skipped special token).
  Streamed r = stream(params, {kEnd, 'x', 'a', 'a', 'b'});
  EXPECT_EQ(r.deltas, (Deltas{"", "x", "a", ""}));
  EXPECT_EQ(r.finish->stop_string_index, 0u);
  r = stream(params, {'b', 'b', 'b', kEnd});
  EXPECT_EQ(r.finished_at, 4u);
  EXPECT_EQ(r.finish->reason, FinishReason::kStop);
  // A stop string may start in text of the first min_tokens tokens when it
  // ends after them (vLLM's rule).
  params.stop = {"ab"};
  params.min_tokens = 1;
  r = stream(params, {'a', 'b'});
  EXPECT_EQ(r.deltas, (Deltas{"", ""}));
  EXPECT_EQ(r.finish->stop_string_index, 0u);
  // ... but one that ended within them never matches later: "b" sits in
  // the held-back "ab" (which could still become "abc").
  params.stop = {"b", "abc"};
  r = stream(params, {kAb, 'y', 'b'});
  EXPECT_EQ(r.deltas, (Deltas{"", "aby", ""}));
  EXPECT_EQ(r.finish->stop_string_index, 0u);
}

TEST(StopChecker, MaxTokensEndsWithLengthAndFlushes) {
  SamplingParams params = with_stops({"cd"});
  params.max_tokens = 3;
  const Streamed r = stream(params, {'a', 'b', 'c'});
  EXPECT_EQ(r.deltas, (Deltas{"a", "b", "c"}));  // "c" was held back, then released
  EXPECT_EQ(r.finish->reason, FinishReason::kLength);
  EXPECT_EQ(finish_reason_name(r.finish->reason), "length");
  // The engine may end earlier when the context is full.
  StopChecker checker(params, &tokenizer(), kEos, /*max_new_tokens=*/1);
  EXPECT_EQ(checker.add('a').finish->reason, FinishReason::kLength);
  // A stop string completed by the last token still wins.
  params.stop = {"bc"};
  EXPECT_EQ(stream(params, {'a', 'b', 'c'}).finish->stop_string_index, 0u);
}

TEST(StopChecker, AnUnfinishedCharacterAtTheEndIsFlushed) {
  const Streamed r = stream(with_stops({}), {'a', 0xE4, kEnd});
  EXPECT_EQ(r.deltas[1], "");
  EXPECT_EQ(r.text, tokenizer().decode(std::vector<int32_t>{'a', 0xE4}));
}

TEST(StopChecker, WithoutATokenizerOnlyTokensStop) {
  SamplingParams params = with_stops({});
  params.stop_token_ids = {'x'};
  params.max_tokens = 3;
  StopChecker checker(params, nullptr, kEos, params.max_tokens);
  EXPECT_EQ(checker.add('a').text, "");
  const StopStep step = checker.add('x');
  EXPECT_EQ(step.text, "");
  EXPECT_EQ(step.finish->stop_token_id, 'x');
  StopChecker eos(params, nullptr, kEos, params.max_tokens);
  EXPECT_FALSE(eos.add('a').finish);
  EXPECT_EQ(eos.add(kEnd).finish->reason, FinishReason::kStop);
}

// The deltas of random token streams equal the reference: decode everything
// up to each token, find the stop string that completes first, cut there.
TEST(StopChecker, MatchesTheWholeTextReference) {
  const std::vector<int32_t> pieces = {'a', 'b', 'c', 'd', kAb, kBc, kCd};
  const std::vector<std::string> stops = {"abc", "ca", "bb", "dcd"};
  std::mt19937 rng(5);
  for (int trial = 0; trial < 500; ++trial) {
    SamplingParams params = with_stops(stops);
    params.include_stop_str_in_output = trial % 2 == 1;
    params.max_tokens = 12;  // every run ends, so held-back text is released
    std::vector<int32_t> ids;
    for (int i = 0; i < params.max_tokens; ++i) ids.push_back(pieces[rng() % pieces.size()]);
    const Streamed r = stream(params, ids);

    std::string expected;
    std::optional<size_t> expected_stop;
    std::vector<int32_t> prefix;
    size_t searched = 0;
    for (int32_t id : ids) {
      prefix.push_back(id);
      const std::string text = tokenizer().decode(prefix);
      size_t best_end = std::string::npos, best_start = 0;
      for (size_t s = 0; s < stops.size(); ++s) {
        for (size_t at = text.find(stops[s]); at != std::string::npos;
             at = text.find(stops[s], at + 1)) {
          const size_t end = at + stops[s].size();
          if (end > searched && end < best_end) {
            best_end = end;
            best_start = at;
            expected_stop = s;
          }
        }
      }
      if (best_end != std::string::npos) {
        expected = text.substr(0, params.include_stop_str_in_output ? best_end : best_start);
        break;
      }
      expected = text;
      searched = text.size();
    }
    ASSERT_EQ(r.text, expected) << "trial " << trial;
    ASSERT_TRUE(r.finish);
    ASSERT_EQ(r.finish->stop_string_index, expected_stop) << "trial " << trial;
    ASSERT_EQ(r.finish->reason, expected_stop ? FinishReason::kStop : FinishReason::kLength);
  }
}

}  // namespace
}  // namespace localmoe
