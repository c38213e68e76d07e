#pragma once
// Incremental detokenization for streaming: text is emitted as soon as it
// can no longer change, never ends inside a UTF-8 character, and the
// concatenated deltas equal tokenizer.decode(ids) with clean-up off
// (transformers' clean_up_tokenization rewrites text already sent, so a
// stream never applies it).
//
// How: only a short window of trailing ids is re-decoded per token. The
// window restarts after a token whose text ended cleanly (no trailing U+FFFD
// that more bytes could complete, not inside a run of <0xXX> byte tokens),
// where every supported decoder is separable; windows after the first are
// decoded as continuations, so start-of-text effects (the stripped leading
// space) are applied once.

#include <cstdint>
#include <string>
#include <vector>

#include "localmoe/tokenizer/tokenizer.h"

namespace localmoe {

class IncrementalDetokenizer {
 public:
  explicit IncrementalDetokenizer(const Tokenizer& tokenizer, bool skip_special_tokens = false);

  // Appends one id; returns the newly stable text (often empty while a
  // multi-byte character is still arriving).
  std::string add(int32_t id);
  // Ends the stream and returns the text held back so far.
  std::string finish();

  const std::vector<int32_t>& ids() const { return ids_; }

 private:
  bool is_byte_token(int32_t id) const;

  const Tokenizer& tokenizer_;
  DecodeOptions options_;
  std::vector<int32_t> ids_;
  std::size_t window_start_ = 0;  // first id still being re-decoded
  std::string window_emitted_;    // text of the window already returned
};

}  // namespace localmoe
