#pragma once
// A tokenizer.json pipeline: added-token split, normalizer, pre-tokenizer,
// BPE model, post-processor on encode; decoder chain on decode.

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "localmoe/tokenizer/added_tokens.h"
#include "localmoe/tokenizer/bpe.h"
#include "localmoe/tokenizer/decode.h"
#include "localmoe/tokenizer/normalize.h"
#include "localmoe/tokenizer/pretokenize.h"
#include "localmoe/tokenizer/tokenizer.h"

namespace localmoe {

class HfTokenizer final : public Tokenizer {
 public:
  // Builds from a parsed tokenizer.json; `where` names it in errors.
  static std::unique_ptr<HfTokenizer> from_json(const nlohmann::json& tokenizer_json,
                                                TokenizerConfig config, const std::string& where);
  // GPT-2's vocab.json + merges.txt format (byte-level BPE, no post-processor).
  static std::unique_ptr<HfTokenizer> from_vocab_and_merges(const std::string& vocab_path,
                                                            const std::string& merges_path,
                                                            TokenizerConfig config);

  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = true) const override;
  std::string decode(std::span<const int32_t> ids,
                     const DecodeOptions& options = {}) const override;
  std::optional<std::string> id_to_token(int32_t id) const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  bool is_special(int32_t id) const override;
  std::size_t vocab_size() const override;

 private:
  // One element of the post-processor's template for a single sequence.
  struct TemplatePiece {
    bool is_sequence = false;  // the encoded text itself
    std::vector<int32_t> ids;  // otherwise: special token ids to insert
  };

  explicit HfTokenizer(BpeModel model);
  void set_added_tokens(std::vector<AddedToken> tokens);
  void parse_post_processor(const nlohmann::json& value);
  void apply_config_post_processor();
  void encode_text(std::string_view text, std::vector<int32_t>& ids) const;

  BpeModel model_;
  Normalizer normalizer_;
  PreTokenizer pre_tokenizer_;
  Decoder decoder_;
  std::vector<TemplatePiece> post_template_;  // empty: ids unchanged
  AddedTokenMatcher raw_matcher_;             // added tokens with normalized == false
  AddedTokenMatcher normalized_matcher_;      // added tokens with normalized == true
  std::unordered_map<int32_t, AddedToken> added_by_id_;
  TokenMap added_by_content_;
};

}  // namespace localmoe
