#pragma once
// A tokenizer.model (SentencePiece) checkpoint without tokenizer.json,
// through Debian's libsentencepiece. Behaves like transformers' slow
// LlamaTokenizer: control pieces written in the text ("<s>", "</s>") are
// matched as tokens, the rest is encoded by SentencePiece, BOS / EOS follow
// add_bos_token (default true) / add_eos_token (default false); decoding
// uses the same chain as Llama's tokenizer.json (▁ -> space, byte fallback,
// leading space stripped).

#include <memory>
#include <string>

#include "localmoe/tokenizer/added_tokens.h"
#include "localmoe/tokenizer/decode.h"
#include "localmoe/tokenizer/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace localmoe {

class SentencePieceTokenizer final : public Tokenizer {
 public:
  SentencePieceTokenizer(const std::string& model_path, TokenizerConfig config);
  ~SentencePieceTokenizer() override;

  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = true) const override;
  std::string decode(std::span<const int32_t> ids,
                     const DecodeOptions& options = {}) const override;
  std::optional<std::string> id_to_token(int32_t id) const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  bool is_special(int32_t id) const override;
  std::size_t vocab_size() const override;

 private:
  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
  AddedTokenMatcher control_matcher_;  // control pieces matched in raw text
  Decoder decoder_;
};

}  // namespace localmoe
