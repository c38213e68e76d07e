#include "localmoe/tokenizer/added_tokens.h"

#include <algorithm>

#include "localmoe/tokenizer/unicode.h"

namespace localmoe {

namespace {

bool is_word_char(char32_t c) {
  return c == '_' || is_letter(c) || is_number(c);
}

// The code point ending at byte `end` (end > 0).
char32_t code_point_before(std::string_view text, std::size_t end,
                           std::size_t* start_out = nullptr) {
  std::size_t start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80 && end - start < 4)
    --start;
  std::size_t pos = start;
  const char32_t cp = utf8_next(text, pos);
  if (start_out != nullptr) *start_out = start;
  return cp;
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(std::vector<AddedToken> tokens,
                                     std::vector<std::string> patterns)
    : tokens_(std::move(tokens)), patterns_(std::move(patterns)), by_first_byte_(256) {
  for (uint32_t i = 0; i < patterns_.size(); ++i) {
    if (patterns_[i].empty()) continue;
    by_first_byte_[static_cast<unsigned char>(patterns_[i][0])].push_back(i);
  }
  for (auto& list : by_first_byte_) {
    std::stable_sort(list.begin(), list.end(), [&](uint32_t a, uint32_t b) {
      return patterns_[a].size() > patterns_[b].size();
    });
  }
}

void AddedTokenMatcher::split(std::string_view text, std::vector<TextSegment>& segments) const {
  std::size_t text_start = 0;  // start of the pending text segment
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto& candidates = by_first_byte_[static_cast<unsigned char>(text[pos])];
    int32_t found = -1;
    std::size_t match_begin = pos;
    std::size_t match_end = pos;
    for (uint32_t index : candidates) {
      const std::string& pattern = patterns_[index];
      if (text.compare(pos, pattern.size(), pattern) != 0) continue;
      const AddedToken& token = tokens_[index];
      const std::size_t end = pos + pattern.size();
      if (token.single_word) {
        const bool word_before = pos > 0 && is_word_char(code_point_before(text, pos));
        std::size_t after = end;
        const bool word_after = end < text.size() && is_word_char(utf8_next(text, after));
        if (word_before || word_after) continue;
      }
      found = static_cast<int32_t>(index);
      match_end = end;
      break;  // candidates are sorted longest first
    }
    if (found < 0) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens_[found];
    if (token.lstrip) {
      while (match_begin > text_start) {
        std::size_t start = 0;
        if (!is_whitespace(code_point_before(text, match_begin, &start))) break;
        match_begin = start;
      }
    }
    if (token.rstrip) {
      while (match_end < text.size()) {
        std::size_t next = match_end;
        if (!is_whitespace(utf8_next(text, next))) break;
        match_end = next;
      }
    }
    if (match_begin > text_start) segments.push_back({text_start, match_begin, -1});
    segments.push_back({match_begin, match_end, token.id});
    pos = match_end;
    text_start = match_end;
  }
  if (text_start < text.size()) segments.push_back({text_start, text.size(), -1});
}

}  // namespace localmoe
