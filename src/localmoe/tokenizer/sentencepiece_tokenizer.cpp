#include "localmoe/tokenizer/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include <nlohmann/json.hpp>

#include "localmoe/base/error.h"
#include "localmoe/tokenizer/unicode.h"

namespace localmoe {

SentencePieceTokenizer::SentencePieceTokenizer(const std::string& model_path,
                                               TokenizerConfig config)
    : processor_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  const auto status = processor_->Load(model_path);
  if (!status.ok())
    throw make_error(ErrorKind::kInvalidArgument, "file '", model_path, "': ", status.ToString());
  std::vector<AddedToken> controls;
  std::vector<std::string> patterns;
  for (int id = 0; id < processor_->GetPieceSize(); ++id) {
    if (!processor_->IsControl(id)) continue;
    const std::string piece = processor_->IdToPiece(id);
    if (piece.empty()) continue;
    controls.push_back(
        AddedToken{piece, id, /*special=*/true, false, false, /*normalized=*/false, false});
    patterns.push_back(piece);
  }
  control_matcher_ = AddedTokenMatcher(std::move(controls), std::move(patterns));
  decoder_ = Decoder::from_json(nlohmann::json::parse(R"({"type": "Sequence", "decoders": [
      {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
      {"type": "ByteFallback"}, {"type": "Fuse"},
      {"type": "Strip", "content": " ", "start": 1, "stop": 0}]})"));
  if (!config.bos_token && processor_->bos_id() >= 0)
    config.bos_token = processor_->IdToPiece(processor_->bos_id());
  if (!config.eos_token && processor_->eos_id() >= 0)
    config.eos_token = processor_->IdToPiece(processor_->eos_id());
  set_config(std::move(config));
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::vector<int32_t> SentencePieceTokenizer::encode(std::string_view text,
                                                    bool add_special_tokens) const {
  const std::string clean = utf8_sanitize(text);
  std::vector<TextSegment> segments;
  control_matcher_.split(clean, segments);
  std::vector<int32_t> ids;
  if (add_special_tokens && config().add_bos_token.value_or(true) && bos_id())
    ids.push_back(*bos_id());
  std::vector<int> piece_ids;
  for (const TextSegment& seg : segments) {
    if (seg.token_id >= 0) {
      ids.push_back(seg.token_id);
      continue;
    }
    const auto status = processor_->Encode(
        std::string_view(clean).substr(seg.begin, seg.end - seg.begin), &piece_ids);
    if (!status.ok())
      throw make_error(ErrorKind::kInvalidArgument, "sentencepiece encode: ", status.ToString());
    ids.insert(ids.end(), piece_ids.begin(), piece_ids.end());
  }
  if (add_special_tokens && config().add_eos_token.value_or(false) && eos_id())
    ids.push_back(*eos_id());
  return ids;
}

std::string SentencePieceTokenizer::decode(std::span<const int32_t> ids,
                                           const DecodeOptions& options) const {
  std::vector<std::string> pieces;
  pieces.reserve(ids.size());
  for (int32_t id : ids) {
    if (id < 0 || id >= processor_->GetPieceSize())
      throw make_error(ErrorKind::kInvalidArgument, "token id ", id, " is not in the vocabulary");
    if (options.skip_special_tokens && is_special(id)) continue;
    pieces.push_back(processor_->IdToPiece(id));
  }
  std::string text = decoder_.decode(std::move(pieces), options.continuation);
  const bool clean = !options.continuation && options.clean_up_tokenization_spaces.value_or(
                                                  config().clean_up_tokenization_spaces);
  return clean ? clean_up_tokenization(std::move(text)) : text;
}

std::optional<std::string> SentencePieceTokenizer::id_to_token(int32_t id) const {
  if (id < 0 || id >= processor_->GetPieceSize()) return std::nullopt;
  return processor_->IdToPiece(id);
}

std::optional<int32_t> SentencePieceTokenizer::token_to_id(std::string_view token) const {
  const int id = processor_->PieceToId(token);
  if (processor_->IdToPiece(id) != token) return std::nullopt;  // PieceToId maps unknowns to <unk>
  return id;
}

bool SentencePieceTokenizer::is_special(int32_t id) const {
  return id >= 0 && id < processor_->GetPieceSize() &&
         (processor_->IsControl(id) || processor_->IsUnknown(id));
}

std::size_t SentencePieceTokenizer::vocab_size() const {
  return static_cast<std::size_t>(processor_->GetPieceSize());
}

}  // namespace localmoe
