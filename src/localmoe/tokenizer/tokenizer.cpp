#include "localmoe/tokenizer/tokenizer.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "localmoe/base/error.h"
#include "localmoe/tokenizer/hf_tokenizer.h"
#include "localmoe/tokenizer/normalize.h"
#include "localmoe/tokenizer/sentencepiece_tokenizer.h"

namespace localmoe {

void Tokenizer::set_config(TokenizerConfig config) {
  config_ = std::move(config);
  bos_id_ = config_.bos_token ? token_to_id(*config_.bos_token) : std::nullopt;
  eos_id_ = config_.eos_token ? token_to_id(*config_.eos_token) : std::nullopt;
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& model_dir) {
  namespace fs = std::filesystem;
  const fs::path dir(model_dir);
  if (!fs::is_directory(dir))
    throw make_error(ErrorKind::kNotFound, "model directory '", model_dir, "' does not exist");
  TokenizerConfig config = TokenizerConfig::load((dir / "tokenizer_config.json").string());
  // Older checkpoints name their special tokens in special_tokens_map.json.
  const TokenizerConfig special_map =
      TokenizerConfig::load((dir / "special_tokens_map.json").string());
  for (auto [ours, theirs] : {std::pair{&config.bos_token, &special_map.bos_token},
                              std::pair{&config.eos_token, &special_map.eos_token},
                              std::pair{&config.unk_token, &special_map.unk_token},
                              std::pair{&config.pad_token, &special_map.pad_token}})
    if (!*ours) *ours = *theirs;
  // Newer checkpoints keep the template in its own file.
  const fs::path template_file = dir / "chat_template.jinja";
  if (fs::exists(template_file)) {
    std::ifstream in(template_file, std::ios::binary);
    config.chat_templates["default"].assign(std::istreambuf_iterator<char>(in),
                                            std::istreambuf_iterator<char>());
  }
  const fs::path json_path = dir / "tokenizer.json";
  if (fs::exists(json_path)) {
    std::ifstream in(json_path, std::ios::binary);
    if (!in) throw make_error(ErrorKind::kIo, "file '", json_path.string(), "': cannot open");
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      throw make_error(ErrorKind::kInvalidArgument, "file '", json_path.string(),
                       "': invalid JSON: ", e.what());
    }
    return HfTokenizer::from_json(j, std::move(config), json_path.string());
  }
  if (fs::exists(dir / "vocab.json") && fs::exists(dir / "merges.txt"))
    return HfTokenizer::from_vocab_and_merges((dir / "vocab.json").string(),
                                              (dir / "merges.txt").string(), std::move(config));
  if (fs::exists(dir / "tokenizer.model"))
    return std::make_unique<SentencePieceTokenizer>((dir / "tokenizer.model").string(),
                                                    std::move(config));
  throw make_error(ErrorKind::kNotFound, "model directory '", model_dir,
                   "' has no tokenizer.json, vocab.json + merges.txt or tokenizer.model");
}

std::string clean_up_tokenization(std::string text) {
  static const std::pair<std::string_view, std::string_view> kRules[] = {
      {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
  };
  for (const auto& [from, to] : kRules) text = replace_all(text, from, to);
  return text;
}

}  // namespace localmoe
