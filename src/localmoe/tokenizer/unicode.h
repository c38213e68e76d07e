#pragma once
// UTF-8 and Unicode helpers for the tokenizer: decoding with the lossy rule
// shared by Rust's String::from_utf8_lossy, WHATWG's TextDecoder and Python's
// errors="replace" (one U+FFFD per maximal invalid subpart), the general
// category classes the pre-tokenizer regexes use, and NFC / NFD.

#include <cstdint>
#include <string>
#include <string_view>

namespace localmoe {

inline constexpr char32_t kReplacementChar = 0xFFFD;

// Coarse general category: enough for \p{L}, \p{N} and word checks.
enum class CharClass : uint8_t {
  kUnassigned = 0,
  kLetter = 1,       // Lu Ll Lt Lm Lo
  kNumber = 2,       // Nd Nl No
  kMark = 3,         // Mn Mc Me
  kPunctuation = 4,  // P*
  kSymbol = 5,       // S*
  kSeparator = 6,    // Z*
  kOther = 7,        // Cc Cf Co Cs
};

// Decodes one code point at `pos` of valid-or-not UTF-8. On a malformed
// sequence returns U+FFFD and advances by the length of the maximal invalid
// subpart (at least 1), so repeated calls implement the lossy rule.
char32_t utf8_next(std::string_view text, std::size_t& pos);

// Appends the UTF-8 encoding of `cp` (which must be a scalar value).
void utf8_append(std::string& out, char32_t cp);

// Number of bytes of the UTF-8 sequence led by `lead` (1 for invalid leads).
int utf8_sequence_length(unsigned char lead);

// True when `text` is well-formed UTF-8.
bool utf8_is_valid(std::string_view text);

// Replaces every maximal invalid subpart by U+FFFD (identity on valid text).
std::string utf8_sanitize(std::string_view text);

CharClass char_class(char32_t cp);
inline bool is_letter(char32_t cp) {
  return cp < 0x80 ? ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z')
                   : char_class(cp) == CharClass::kLetter;
}
inline bool is_number(char32_t cp) {
  return cp < 0x80 ? (cp >= '0' && cp <= '9') : char_class(cp) == CharClass::kNumber;
}
// The Unicode White_Space property (what \s means in Oniguruma and Rust).
bool is_whitespace(char32_t cp);

// Python's str.upper(), lower(), title() and capitalize() on valid UTF-8:
// full case mappings (ß -> SS) and the final-sigma rule of lower().
std::string python_upper(std::string_view text);
std::string python_lower(std::string_view text);
std::string python_title(std::string_view text);
std::string python_capitalize(std::string_view text);

// Canonical composition / decomposition of valid UTF-8 text.
std::string nfc(std::string_view text);
std::string nfd(std::string_view text);

}  // namespace localmoe
