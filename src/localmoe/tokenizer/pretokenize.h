#pragma once
// Pre-tokenizers of the Hugging Face tokenizers format: split a normalized
// text segment into the words the BPE model encodes one by one. The split
// regexes of GPT-2, Llama-3 and Qwen2 are hand-written matchers (no regex
// engine: std::regex lacks \p{..} and is slow) that reproduce the leftmost-
// first semantics of Oniguruma on those exact patterns.

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace localmoe {

// The split patterns we recognise, by the model family that introduced them.
enum class SplitRegex {
  kGpt2,    // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  kLlama3,  // (?i:'s|..)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
            // ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
  kQwen2,   // as kLlama3 with \p{N} instead of \p{N}{1,3}
};

// Maps a tokenizer.json regex to the matcher implementing it; nullopt when
// the pattern is not one we implement.
std::optional<SplitRegex> recognize_split_regex(std::string_view pattern);

// Splits `text` (valid UTF-8) into consecutive matches of `regex`; the
// matches of these patterns tile the text, so every byte lands in a piece.
void split_by_regex(SplitRegex regex, std::string_view text, std::vector<std::string_view>& pieces);

// GPT-2's reversible byte -> printable character map: entry b is the UTF-8
// encoding of the character standing for byte b.
const std::array<std::string, 256>& byte_level_alphabet();
// The byte a byte-level character stands for, or -1.
int byte_level_byte(char32_t cp);

// When the Metaspace pre-tokenizer prepends the replacement character.
enum class PrependScheme { kAlways, kFirst, kNever };
PrependScheme parse_prepend_scheme(const std::string& name);

// A pipeline of pre-tokenizer steps (Sequence, Split, ByteLevel, Metaspace).
class PreTokenizer {
 public:
  struct Step;

  PreTokenizer();
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;
  ~PreTokenizer();

  // Parses the "pre_tokenizer" value of tokenizer.json (null: no step).
  static PreTokenizer from_json(const nlohmann::json& value);
  // GPT-2's pipeline for vocab.json + merges.txt checkpoints.
  static PreTokenizer byte_level_gpt2();

  // Splits one normalized segment into words. `at_text_start` tells whether
  // the segment starts the original input (Metaspace's "first" scheme).
  void pre_tokenize(std::string_view segment, bool at_text_start,
                    std::vector<std::string>& words) const;

  bool byte_level() const;  // true when words come out in the byte-level alphabet

 private:
  std::vector<Step> steps_;
};

}  // namespace localmoe
