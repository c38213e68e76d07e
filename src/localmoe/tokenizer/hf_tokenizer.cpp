#include "localmoe/tokenizer/hf_tokenizer.h"

#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "localmoe/base/error.h"
#include "localmoe/tokenizer/json_util.h"
#include "localmoe/tokenizer/unicode.h"

namespace localmoe {

namespace {

// transformers' Llama-family fast tokenizers rebuild the post-processor from
// add_bos_token / add_eos_token (defaults: true / false) at load time.
bool config_drives_post_processor(const std::string& tokenizer_class) {
  static const std::set<std::string> kClasses = {"LlamaTokenizer",     "LlamaTokenizerFast",
                                                 "CodeLlamaTokenizer", "CodeLlamaTokenizerFast",
                                                 "GemmaTokenizer",     "GemmaTokenizerFast"};
  return kClasses.contains(tokenizer_class);
}

// GPT2Tokenizer's defaults (unk, bos and eos are "<|endoftext|>") when the
// config names none: DialoGPT's checkpoints rely on them. Applies to GPT-2
// classes, or to a config without a class (transformers then picks the
// class from config.json's model type).
void apply_gpt2_defaults(const Tokenizer& tokenizer, TokenizerConfig& config) {
  static const std::string kEndOfText = "<|endoftext|>";
  const bool gpt2_class =
      config.tokenizer_class.empty() || config.tokenizer_class.starts_with("GPT2Tokenizer");
  if (!gpt2_class || !tokenizer.token_to_id(kEndOfText)) return;
  for (auto* token : {&config.bos_token, &config.eos_token, &config.unk_token})
    if (!*token) *token = kEndOfText;
}

}  // namespace

HfTokenizer::HfTokenizer(BpeModel model) : model_(std::move(model)) {}

std::unique_ptr<HfTokenizer> HfTokenizer::from_json(const nlohmann::json& j, TokenizerConfig config,
                                                    const std::string& where) {
  auto section = [&](const char* key) -> const nlohmann::json& {
    static const nlohmann::json kNull;
    return j.contains(key) ? j[key] : kNull;
  };
  try {
    if (!j.is_object() || !j.contains("model"))
      throw make_error(ErrorKind::kInvalidArgument, "missing key 'model'");
    std::unique_ptr<HfTokenizer> t;
    try {
      t.reset(new HfTokenizer(BpeModel::from_json(j["model"])));
    } catch (Error& e) {
      throw e.with_context("key 'model'");
    }
    try {
      t->normalizer_ = Normalizer::from_json(section("normalizer"));
    } catch (Error& e) {
      throw e.with_context("key 'normalizer'");
    }
    try {
      t->pre_tokenizer_ = PreTokenizer::from_json(section("pre_tokenizer"));
    } catch (Error& e) {
      throw e.with_context("key 'pre_tokenizer'");
    }
    try {
      t->decoder_ = Decoder::from_json(section("decoder"));
    } catch (Error& e) {
      throw e.with_context("key 'decoder'");
    }
    std::vector<AddedToken> added;
    for (const auto& a :
         section("added_tokens").is_array() ? section("added_tokens") : nlohmann::json::array()) {
      AddedToken token;
      if (!a.is_object() || !a.contains("content") || !a.contains("id") ||
          !a["content"].is_string())
        throw make_error(ErrorKind::kInvalidArgument,
                         "key 'added_tokens': entries need \"id\" and \"content\"");
      token.content = a["content"];
      token.id =
          static_cast<int32_t>(json_integer(a["id"], "key 'added_tokens': id", 0, kMaxTokenId));
      token.special = a.value("special", false);
      token.lstrip = a.value("lstrip", false);
      token.rstrip = a.value("rstrip", false);
      token.normalized = a.value("normalized", !token.special);
      token.single_word = a.value("single_word", false);
      if (token.content.empty() || token.id < 0)
        throw make_error(ErrorKind::kInvalidArgument,
                         "key 'added_tokens': empty content or negative id");
      added.push_back(std::move(token));
    }
    t->set_added_tokens(std::move(added));
    try {
      t->parse_post_processor(section("post_processor"));
    } catch (Error& e) {
      throw e.with_context("key 'post_processor'");
    }
    apply_gpt2_defaults(*t, config);
    t->set_config(std::move(config));
    t->apply_config_post_processor();
    return t;
  } catch (Error& e) {
    throw e.with_context("file '" + where + "'");
  } catch (const nlohmann::json::exception& e) {
    throw make_error(ErrorKind::kInvalidArgument, "file '", where, "': ", e.what());
  }
}

std::unique_ptr<HfTokenizer> HfTokenizer::from_vocab_and_merges(const std::string& vocab_path,
                                                                const std::string& merges_path,
                                                                TokenizerConfig config) {
  TokenMap vocab;
  try {
    std::ifstream in(vocab_path, std::ios::binary);
    if (!in) throw make_error(ErrorKind::kIo, "cannot open file");
    const auto v = nlohmann::json::parse(in);
    if (!v.is_object())
      throw make_error(ErrorKind::kInvalidArgument, "expected an object of token -> id");
    for (auto it = v.begin(); it != v.end(); ++it)
      vocab.emplace(it.key(), static_cast<int32_t>(json_integer(
                                  it.value(), "token '" + it.key() + "'", 0, kMaxTokenId)));
  } catch (Error& e) {
    throw e.with_context("file '" + vocab_path + "'");
  } catch (const nlohmann::json::exception& e) {
    throw make_error(ErrorKind::kInvalidArgument, "file '", vocab_path, "': ", e.what());
  }
  std::vector<std::pair<std::string, std::string>> merges;
  {
    std::ifstream in(merges_path, std::ios::binary);
    if (!in) throw make_error(ErrorKind::kIo, "file '", merges_path, "': cannot open");
    std::string line;
    int line_number = 0;
    while (std::getline(in, line)) {
      ++line_number;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || (line_number == 1 && line.starts_with("#version"))) continue;
      const std::size_t space = line.find(' ', 1);
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos)
        throw make_error(ErrorKind::kInvalidArgument, "file '", merges_path, "': line ",
                         line_number, ": expected two tokens separated by one space");
      merges.emplace_back(line.substr(0, space), line.substr(space + 1));
    }
  }
  std::unique_ptr<HfTokenizer> t;
  try {
    t.reset(new HfTokenizer(BpeModel(std::move(vocab), merges, BpeOptions{})));
  } catch (Error& e) {
    throw e.with_context("file '" + merges_path + "'");
  }
  t->pre_tokenizer_ = PreTokenizer::byte_level_gpt2();
  t->decoder_ = Decoder::byte_level();
  apply_gpt2_defaults(*t, config);
  // The slow GPT2Tokenizer treats its special tokens as added ones.
  std::vector<AddedToken> added;
  std::set<std::string> seen;
  for (const auto& name :
       {config.bos_token, config.eos_token, config.unk_token, config.pad_token}) {
    if (!name || seen.contains(*name)) continue;
    const auto id = t->model_.token_to_id(*name);
    if (!id) continue;
    seen.insert(*name);
    added.push_back(
        AddedToken{*name, *id, /*special=*/true, false, false, /*normalized=*/false, false});
  }
  t->set_added_tokens(std::move(added));
  t->set_config(std::move(config));
  return t;
}

void HfTokenizer::set_added_tokens(std::vector<AddedToken> tokens) {
  std::vector<AddedToken> raw, normalized;
  std::vector<std::string> raw_patterns, normalized_patterns;
  for (auto& token : tokens) {
    added_by_content_[token.content] = token.id;
    added_by_id_[token.id] = token;
    if (token.normalized) {
      normalized_patterns.push_back(normalizer_.normalize(token.content));
      normalized.push_back(token);
    } else {
      raw_patterns.push_back(token.content);
      raw.push_back(token);
    }
  }
  raw_matcher_ = AddedTokenMatcher(std::move(raw), std::move(raw_patterns));
  normalized_matcher_ = AddedTokenMatcher(std::move(normalized), std::move(normalized_patterns));
}

void HfTokenizer::parse_post_processor(const nlohmann::json& v) {
  if (v.is_null()) return;
  const std::string type = v.at("type");
  if (type == "Sequence") {
    for (const auto& inner : v.at("processors")) parse_post_processor(inner);
    return;
  }
  if (type == "ByteLevel") return;  // only adjusts offsets
  if (type == "TemplateProcessing") {
    if (!post_template_.empty())
      throw make_error(ErrorKind::kUnsupported, "more than one TemplateProcessing in a Sequence");
    const auto& specials = v.at("special_tokens");
    for (const auto& item : v.at("single")) {
      TemplatePiece piece;
      if (item.contains("Sequence")) {
        piece.is_sequence = true;
      } else if (item.contains("SpecialToken")) {
        const std::string name = item["SpecialToken"].at("id");
        if (!specials.contains(name))
          throw make_error(ErrorKind::kInvalidArgument, "TemplateProcessing: special token '", name,
                           "' not in special_tokens");
        for (const auto& id : specials[name].at("ids"))
          piece.ids.push_back(static_cast<int32_t>(
              json_integer(id, "TemplateProcessing: special token id", 0, kMaxTokenId)));
      } else {
        throw make_error(ErrorKind::kInvalidArgument,
                         "TemplateProcessing: template items must be Sequence or SpecialToken");
      }
      post_template_.push_back(std::move(piece));
    }
    return;
  }
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    const auto cls =
        static_cast<int32_t>(json_integer(v.at("cls").at(1), type + ": cls id", 0, kMaxTokenId));
    const auto sep =
        static_cast<int32_t>(json_integer(v.at("sep").at(1), type + ": sep id", 0, kMaxTokenId));
    post_template_ = {TemplatePiece{false, {cls}}, TemplatePiece{true, {}},
                      TemplatePiece{false, {sep}}};
    return;
  }
  throw make_error(ErrorKind::kUnsupported, "post_processor type '", type, "' is not supported");
}

void HfTokenizer::apply_config_post_processor() {
  const TokenizerConfig& c = config();
  if (!config_drives_post_processor(c.tokenizer_class)) return;
  std::vector<TemplatePiece> pieces;
  if (c.add_bos_token.value_or(true)) {
    if (!bos_id())
      throw make_error(ErrorKind::kInvalidArgument,
                       "add_bos_token is set but bos_token is not in the vocabulary");
    pieces.push_back({false, {*bos_id()}});
  }
  pieces.push_back({true, {}});
  if (c.add_eos_token.value_or(false)) {
    if (!eos_id())
      throw make_error(ErrorKind::kInvalidArgument,
                       "add_eos_token is set but eos_token is not in the vocabulary");
    pieces.push_back({false, {*eos_id()}});
  }
  post_template_ = std::move(pieces);
}

void HfTokenizer::encode_text(std::string_view text, std::vector<int32_t>& ids) const {
  std::vector<TextSegment> segments;
  raw_matcher_.split(text, segments);
  std::vector<TextSegment> inner;
  std::vector<std::string> words;
  for (const TextSegment& seg : segments) {
    if (seg.token_id >= 0) {
      ids.push_back(seg.token_id);
      continue;
    }
    const std::string normalized =
        normalizer_.normalize(text.substr(seg.begin, seg.end - seg.begin));
    inner.clear();
    if (normalized_matcher_.empty()) {
      inner.push_back({0, normalized.size(), -1});
    } else {
      normalized_matcher_.split(normalized, inner);
    }
    for (const TextSegment& piece : inner) {
      if (piece.token_id >= 0) {
        ids.push_back(piece.token_id);
        continue;
      }
      const std::string_view piece_text =
          std::string_view(normalized).substr(piece.begin, piece.end - piece.begin);
      pre_tokenizer_.pre_tokenize(piece_text, /*at_text_start=*/seg.begin == 0 && piece.begin == 0,
                                  words);
      for (const std::string& word : words) model_.encode_word(word, ids);
    }
  }
}

std::vector<int32_t> HfTokenizer::encode(std::string_view text, bool add_special_tokens) const {
  const std::string clean = utf8_sanitize(text);
  std::vector<int32_t> body;
  body.reserve(clean.size() / 3 + 4);
  encode_text(clean, body);
  if (!add_special_tokens || post_template_.empty()) return body;
  std::vector<int32_t> out;
  out.reserve(body.size() + 4);
  for (const TemplatePiece& piece : post_template_) {
    if (piece.is_sequence) {
      out.insert(out.end(), body.begin(), body.end());
    } else {
      out.insert(out.end(), piece.ids.begin(), piece.ids.end());
    }
  }
  return out;
}

std::string HfTokenizer::decode(std::span<const int32_t> ids, const DecodeOptions& options) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    const auto added = added_by_id_.find(id);
    if (added != added_by_id_.end()) {
      if (!(options.skip_special_tokens && added->second.special))
        tokens.push_back(added->second.content);
      continue;
    }
    const std::string* token = model_.id_to_token(id);
    if (token == nullptr)
      throw make_error(ErrorKind::kInvalidArgument, "token id ", id, " is not in the vocabulary");
    tokens.push_back(*token);
  }
  std::string text = decoder_.decode(std::move(tokens), options.continuation);
  const bool clean = !options.continuation && options.clean_up_tokenization_spaces.value_or(
                                                  config().clean_up_tokenization_spaces);
  return clean ? clean_up_tokenization(std::move(text)) : text;
}

std::optional<std::string> HfTokenizer::id_to_token(int32_t id) const {
  const auto added = added_by_id_.find(id);
  if (added != added_by_id_.end()) return added->second.content;
  const std::string* token = model_.id_to_token(id);
  if (token == nullptr) return std::nullopt;
  return *token;
}

std::optional<int32_t> HfTokenizer::token_to_id(std::string_view token) const {
  const auto it = added_by_content_.find(token);
  if (it != added_by_content_.end()) return it->second;
  return model_.token_to_id(token);
}

bool HfTokenizer::is_special(int32_t id) const {
  const auto it = added_by_id_.find(id);
  return it != added_by_id_.end() && it->second.special;
}

std::size_t HfTokenizer::vocab_size() const {
  std::size_t size = model_.vocab_size();
  for (const auto& [id, token] : added_by_id_)
    size = std::max(size, static_cast<std::size_t>(id) + 1);
  return size;
}

}  // namespace localmoe
