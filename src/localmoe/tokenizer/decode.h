#pragma once
// Decoders of the Hugging Face tokenizers format: turn token strings back
// into text. Each step maps a list of strings to a list of strings, exactly
// as the reference chain does (ByteLevel, Metaspace, ByteFallback, Fuse,
// Strip, Replace, Sequence).

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "localmoe/tokenizer/pretokenize.h"

namespace localmoe {

class Decoder {
 public:
  struct Step {
    enum class Kind { kByteLevel, kMetaspace, kByteFallback, kFuse, kStrip, kReplace };
    Kind kind = Kind::kFuse;
    std::string text;         // kMetaspace: replacement; kStrip: content; kReplace: pattern
    std::string replacement;  // kReplace
    PrependScheme prepend_scheme = PrependScheme::kAlways;  // kMetaspace
    int strip_start = 0;  // kStrip: leading copies of `text` to remove
  };

  // Parses the "decoder" value of tokenizer.json (null: tokens are concatenated).
  static Decoder from_json(const nlohmann::json& value);
  static Decoder byte_level();

  // `continuation` decodes tokens that follow earlier ones: effects that
  // belong to the start of a text (Metaspace's and Strip's removal of the
  // leading space) are not applied, so streaming windows concatenate.
  std::string decode(std::vector<std::string> tokens, bool continuation) const;

 private:
  std::vector<Step> steps_;
};

}  // namespace localmoe
