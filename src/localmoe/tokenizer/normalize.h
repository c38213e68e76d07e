#pragma once
// Normalizers of the Hugging Face tokenizers format that the supported model
// families use: Sequence, NFC, NFD, Prepend, Replace (string pattern) and
// Strip. Applied to each text segment between added tokens.

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace localmoe {

// Every occurrence of `from` in `text` replaced by `to` (left to right,
// non-overlapping), as Python's str.replace.
std::string replace_all(std::string_view text, std::string_view from, std::string_view to);

class Normalizer {
 public:
  struct Step {
    enum class Kind { kNfc, kNfd, kPrepend, kReplace, kStrip };
    Kind kind = Kind::kNfc;
    std::string text;         // kPrepend: prefix; kReplace: pattern
    std::string replacement;  // kReplace
    bool strip_left = false;  // kStrip
    bool strip_right = false;
  };

  // Parses the "normalizer" value of tokenizer.json (null: identity).
  static Normalizer from_json(const nlohmann::json& value);

  std::string normalize(std::string_view text) const;
  bool empty() const { return steps_.empty(); }

 private:
  std::vector<Step> steps_;
};

}  // namespace localmoe
