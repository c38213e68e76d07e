#pragma once
// Added tokens (tokenizer.json "added_tokens"): strings matched in the raw
// (or, for normalized ones, the normalized) text before the model runs, so
// "<|im_start|>" is one id however the BPE would have split it. Matching is
// leftmost-longest, with the lstrip / rstrip / single_word flags.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace localmoe {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;      // removed by decode(skip_special_tokens)
  bool lstrip = false;       // swallows the whitespace on its left
  bool rstrip = false;       // swallows the whitespace on its right
  bool normalized = true;    // matched in normalized rather than raw text
  bool single_word = false;  // matches only when not inside a word
};

// A piece of text between added tokens, or one added token.
struct TextSegment {
  std::size_t begin = 0;  // byte range in the text that was split
  std::size_t end = 0;
  int32_t token_id = -1;  // >= 0: the range matched this added token
};

// One set of tokens to match (the raw-text set or the normalized-text set).
class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  // `patterns[i]` is the string to find for `tokens[i]` (its content, or its
  // normalized content).
  AddedTokenMatcher(std::vector<AddedToken> tokens, std::vector<std::string> patterns);

  // Splits `text` into segments; text segments keep whitespace that a
  // neighbouring lstrip / rstrip token did not take.
  void split(std::string_view text, std::vector<TextSegment>& segments) const;
  bool empty() const { return tokens_.empty(); }

 private:
  std::vector<AddedToken> tokens_;
  std::vector<std::string> patterns_;
  std::vector<std::vector<uint32_t>> by_first_byte_;  // [256] -> indices, longest pattern first
};

}  // namespace localmoe
