#pragma once
// The tokenizer interface the engine and server see, and the factory that
// picks the implementation from a model directory:
//   tokenizer.json (+ tokenizer_config.json)   -> HfTokenizer
//   vocab.json + merges.txt (GPT-2)            -> HfTokenizer, byte-level BPE
//   tokenizer.model (SentencePiece)            -> SentencePieceTokenizer
// Text in is UTF-8; invalid bytes are replaced by U+FFFD (one per maximal
// invalid subpart) before anything else, the rule of Python's
// errors="replace", Rust's from_utf8_lossy and WHATWG's TextDecoder.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "localmoe/tokenizer/tokenizer_config.h"

namespace localmoe {

struct DecodeOptions {
  bool skip_special_tokens = false;
  // nullopt: tokenizer_config.json's clean_up_tokenization_spaces.
  std::optional<bool> clean_up_tokenization_spaces;
  // The ids continue an earlier decode (see Decoder::decode); used by the
  // incremental detokenizer, which never cleans up.
  bool continuation = false;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Token ids of `text`; with `add_special_tokens` the post-processor adds
  // BOS / EOS as the model expects (what transformers' encode() does).
  virtual std::vector<int32_t> encode(std::string_view text,
                                      bool add_special_tokens = true) const = 0;
  // Text of `ids`; an id outside the vocabulary is an invalid argument.
  virtual std::string decode(std::span<const int32_t> ids,
                             const DecodeOptions& options = {}) const = 0;

  // The raw vocabulary string of one id ("Ġthe", "▁the", "<0x0A>", "<s>").
  virtual std::optional<std::string> id_to_token(int32_t id) const = 0;
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  virtual bool is_special(int32_t id) const = 0;
  // One more than the largest id, added tokens included.
  virtual std::size_t vocab_size() const = 0;

  const TokenizerConfig& config() const { return config_; }
  std::optional<int32_t> bos_id() const { return bos_id_; }
  std::optional<int32_t> eos_id() const { return eos_id_; }

 protected:
  // Resolves the config's special token strings to ids (call once built).
  void set_config(TokenizerConfig config);

 private:
  TokenizerConfig config_;
  std::optional<int32_t> bos_id_;
  std::optional<int32_t> eos_id_;
};

// Loads the tokenizer of a Hugging Face model directory (see the header
// comment for the order of preference). Throws Error naming the file.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& model_dir);

// transformers' clean_up_tokenization: removes the space before . ? ! , and
// English contractions.
std::string clean_up_tokenization(std::string text);

}  // namespace localmoe
