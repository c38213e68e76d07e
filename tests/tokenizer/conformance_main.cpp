// Tokenizer conformance: our ids and decoded text against the reference
// written by conformance/reference.mjs (transformers.js and gpt-3-encoder on
// real vocabularies). Prints "N passed, N failed" per vocabulary and in
// total; exits 1 if any id or text differs.
//
// usage: tokenizer_conformance CORPUS.jsonl REFERENCE_DIR

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "localmoe/base/error.h"
#include "localmoe/tokenizer/detokenizer.h"
#include "localmoe/tokenizer/tokenizer.h"
#include "localmoe/tokenizer/unicode.h"
#include "tokenizer/conformance_corpus.h"

namespace {

std::string ids_string(const std::vector<int32_t>& ids) {
  std::string s;
  for (std::size_t i = 0; i < ids.size() && i < 40; ++i)
    s += (i ? " " : "") + std::to_string(ids[i]);
  if (ids.size() > 40) s += " ...";
  return s;
}

// Streams `ids` through the incremental detokenizer: every delta must be
// valid UTF-8, every prefix of the stream a prefix of the full decode, and
// the whole stream equal to it.
bool stream_matches(const localmoe::Tokenizer& tokenizer, const std::vector<int32_t>& ids) {
  localmoe::DecodeOptions options;
  options.clean_up_tokenization_spaces = false;
  const std::string full = tokenizer.decode(ids, options);
  localmoe::IncrementalDetokenizer detokenizer(tokenizer);
  std::string streamed;
  for (int32_t id : ids) {
    const std::string delta = detokenizer.add(id);
    if (!localmoe::utf8_is_valid(delta)) return false;
    streamed += delta;
    if (full.compare(0, streamed.size(), streamed) != 0) return false;
  }
  streamed += detokenizer.finish();
  return streamed == full;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s CORPUS.jsonl REFERENCE_DIR\n", argv[0]);
    return 2;
  }
  try {
    const std::vector<std::string> texts = localmoe::conformance::read_corpus(argv[1]);
    const std::string dir = argv[2];
    const char* kModels[] = {"llama2", "lenml-llama2", "mistral",          "llama3",
                             "qwen3",  "gpt2",         "gpt2-vocab-merges"};
    long total_passed = 0, total_failed = 0;
    for (const char* name : kModels) {
      const auto tokenizer = localmoe::load_tokenizer(dir + "/" + name);
      const auto expected = localmoe::conformance::read_lines(dir + "/" + name + ".expected.jsonl");
      if (expected.size() != texts.size()) {
        std::fprintf(stderr, "%s: %zu expected lines for %zu corpus strings\n", name,
                     expected.size(), texts.size());
        return 1;
      }
      long passed = 0, failed = 0;
      for (std::size_t i = 0; i < texts.size(); ++i) {
        const auto want = nlohmann::json::parse(expected[i]);
        const auto want_ids = want.at("ids").get<std::vector<int32_t>>();
        const std::string want_text = want.at("text");
        const auto ids = tokenizer->encode(texts[i]);
        const std::string text = ids.empty() ? std::string() : tokenizer->decode(ids);
        if (ids == want_ids && text == want_text) {
          ++passed;
          continue;
        }
        ++failed;
        if (failed <= 5) {
          std::printf(
              "%s: string %zu %s\n  input    %s\n  ours     %s\n  expected %s\n", name, i,
              ids == want_ids ? "decodes differently" : "ids differ",
              nlohmann::json(texts[i])
                  .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                  .c_str(),
              ids == want_ids ? nlohmann::json(text).dump().c_str() : ids_string(ids).c_str(),
              ids == want_ids ? nlohmann::json(want_text).dump().c_str()
                              : ids_string(want_ids).c_str());
        }
      }
      std::printf("%s: %ld passed, %ld failed\n", name, passed, failed);
      // Streaming: the corpus encodings, then random id sequences (byte
      // tokens and partial UTF-8 included) that no encoder would produce.
      long stream_passed = 0, stream_failed = 0;
      uint64_t state = 0x9E3779B97F4A7C15ull;
      auto next_random = [&state] {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
      };
      std::vector<std::vector<int32_t>> sequences;
      for (const auto& text : texts) sequences.push_back(tokenizer->encode(text));
      for (int n = 0; n < 300; ++n) {
        std::vector<int32_t> ids;
        const int length = 1 + static_cast<int>(next_random() % 24);
        while (static_cast<int>(ids.size()) < length) {
          const bool low =
              next_random() % 3 == 0;  // byte tokens sit at low ids in SentencePiece vocabularies
          const auto id =
              static_cast<int32_t>(next_random() % (low ? 300 : tokenizer->vocab_size()));
          if (tokenizer->id_to_token(id)) ids.push_back(id);
        }
        sequences.push_back(ids);
      }
      for (const auto& ids : sequences) {
        if (stream_matches(*tokenizer, ids)) {
          ++stream_passed;
        } else {
          ++stream_failed;
          if (stream_failed <= 3)
            std::printf("%s: streaming differs for ids %s\n", name, ids_string(ids).c_str());
        }
      }
      std::printf("%s streaming: %ld passed, %ld failed\n", name, stream_passed, stream_failed);
      passed += stream_passed;
      failed += stream_failed;
      total_passed += passed;
      total_failed += failed;
    }
    std::printf("%ld passed, %ld failed\n", total_passed, total_failed);
    return total_failed == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
