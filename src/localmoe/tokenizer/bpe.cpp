#include "localmoe/tokenizer/bpe.h"

#include <cstdio>
#include <queue>

#include <nlohmann/json.hpp>

#include "localmoe/base/error.h"
#include "localmoe/tokenizer/json_util.h"
#include "localmoe/tokenizer/unicode.h"

namespace localmoe {

namespace {

constexpr std::size_t kCacheMaxEntries = 1 << 16;
constexpr std::size_t kCacheMaxWordBytes = 64;

}  // namespace

BpeModel::BpeModel(TokenMap vocab, const std::vector<std::pair<std::string, std::string>>& merges,
                   BpeOptions options)
    : vocab_(std::move(vocab)), options_(std::move(options)) {
  int32_t max_id = -1;
  for (const auto& [token, id] : vocab_) {
    if (id < 0 || id > kMaxTokenId)
      throw make_error(ErrorKind::kInvalidArgument, "vocab: id ", id, " of token '", token,
                       "' is out of range");
    max_id = std::max(max_id, id);
  }
  id_to_token_.resize(static_cast<std::size_t>(max_id) + 1);
  for (const auto& [token, id] : vocab_) id_to_token_[id] = token;

  merges_.reserve(merges.size());
  for (std::size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    const auto a = token_to_id(left);
    const auto b = token_to_id(right);
    const auto merged = token_to_id(left + right);
    if (!a || !b || !merged)
      throw make_error(ErrorKind::kInvalidArgument, "merges[", rank, "] '", left, " ", right,
                       "': a part or the result is not in the vocabulary");
    // A repeated pair keeps its last rank, as Hugging Face's map construction does.
    merges_.insert_or_assign(pair_key(*a, *b), MergeTarget{static_cast<uint32_t>(rank), *merged});
  }
  if (options_.unk_token) {
    unk_id_ = token_to_id(*options_.unk_token);
    if (!unk_id_)
      throw make_error(ErrorKind::kInvalidArgument, "unk_token '", *options_.unk_token,
                       "' is not in the vocabulary");
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    byte_ids_[b] = token_to_id(name).value_or(-1);
  }
}

BpeModel BpeModel::from_json(const nlohmann::json& model) {
  if (model.value("type", std::string("BPE")) != "BPE")
    throw make_error(ErrorKind::kUnsupported, "model type '", model.value("type", std::string()),
                     "' is not supported (only BPE)");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (model.contains(key) && model[key].is_string() && !model[key].get<std::string>().empty())
      throw make_error(ErrorKind::kUnsupported, "model.", key, " is not supported");
  }
  if (model.contains("dropout") && !model["dropout"].is_null() &&
      model["dropout"].get<double>() > 0.0)
    throw make_error(ErrorKind::kUnsupported, "model.dropout is not supported at inference");
  TokenMap vocab;
  const auto& v = model.at("vocab");
  if (!v.is_object())
    throw make_error(ErrorKind::kInvalidArgument, "model.vocab: expected an object");
  vocab.reserve(v.size());
  for (auto it = v.begin(); it != v.end(); ++it) {
    vocab.emplace(it.key(), static_cast<int32_t>(json_integer(
                                it.value(), "model.vocab['" + it.key() + "']", 0, kMaxTokenId)));
  }
  std::vector<std::pair<std::string, std::string>> merges;
  const auto& m = model.value("merges", nlohmann::json::array());
  merges.reserve(m.size());
  for (const auto& entry : m) {
    if (entry.is_string()) {  // "left right": the older serialization
      const std::string s = entry;
      const std::size_t space = s.find(' ', 1);
      if (space == std::string::npos)
        throw make_error(ErrorKind::kInvalidArgument, "model.merges: entry '", s, "' has no space");
      merges.emplace_back(s.substr(0, space), s.substr(space + 1));
    } else if (entry.is_array() && entry.size() == 2 && entry[0].is_string() &&
               entry[1].is_string()) {
      merges.emplace_back(entry[0].get<std::string>(), entry[1].get<std::string>());
    } else {
      throw make_error(ErrorKind::kInvalidArgument,
                       "model.merges: expected \"a b\" or [\"a\", \"b\"]");
    }
  }
  BpeOptions options;
  if (model.contains("unk_token") && model["unk_token"].is_string())
    options.unk_token = model["unk_token"].get<std::string>();
  options.fuse_unk = model.value("fuse_unk", false);
  options.byte_fallback = model.value("byte_fallback", false);
  options.ignore_merges = model.value("ignore_merges", false);
  return BpeModel(std::move(vocab), merges, std::move(options));
}

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const {
  const auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= id_to_token_.size()) return nullptr;
  const std::string& token = id_to_token_[id];
  return token.empty() ? nullptr : &token;
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& ids) const {
  if (word.empty()) return;
  if (options_.ignore_merges) {
    if (const auto id = token_to_id(word)) {
      ids.push_back(*id);
      return;
    }
  }
  if (word.size() <= kCacheMaxWordBytes) {
    {
      std::lock_guard lock(cache_->mutex);
      const auto it = cache_->words.find(word);
      if (it != cache_->words.end()) {
        ids.insert(ids.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    std::vector<int32_t> word_ids;
    merge_word(word, word_ids);
    ids.insert(ids.end(), word_ids.begin(), word_ids.end());
    std::lock_guard lock(cache_->mutex);
    if (cache_->words.size() >= kCacheMaxEntries) cache_->words.clear();
    cache_->words.emplace(word, std::move(word_ids));
    return;
  }
  merge_word(word, ids);
}

void BpeModel::merge_word(std::string_view word, std::vector<int32_t>& ids) const {
  // Symbols form a doubly linked list over one array; a merged-away symbol
  // gets id -1.
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  bool last_was_unk = false;
  auto push = [&](int32_t id) {
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back({id, index - 1, index + 1});
  };
  std::size_t pos = 0;
  while (pos < word.size()) {
    const std::size_t start = pos;
    utf8_next(word, pos);
    const std::string_view ch = word.substr(start, pos - start);
    if (const auto id = token_to_id(ch)) {
      push(*id);
      last_was_unk = false;
      continue;
    }
    if (options_.byte_fallback) {
      bool all_bytes = true;
      for (unsigned char b : ch) all_bytes = all_bytes && byte_ids_[b] >= 0;
      if (all_bytes) {
        for (unsigned char b : ch) push(byte_ids_[b]);
        last_was_unk = false;
        continue;
      }
    }
    if (unk_id_) {
      if (!(options_.fuse_unk && last_was_unk)) push(*unk_id_);
      last_was_unk = true;
    }
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;

  // Candidate merges ordered by (rank, position): lowest rank first, then
  // leftmost, as Hugging Face's priority queue does.
  struct Candidate {
    uint32_t rank;
    int32_t pos;
    int32_t new_id;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto consider = [&](int32_t left) {
    if (left < 0) return;
    const int32_t right = symbols[left].next;
    if (right < 0) return;
    const auto it = merges_.find(pair_key(symbols[left].id, symbols[right].id));
    if (it != merges_.end()) queue.push({it->second.rank, left, it->second.new_id});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(symbols.size()); ++i) consider(i);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (left.id < 0 || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    const auto it = merges_.find(pair_key(left.id, right.id));
    if (it == merges_.end() || it->second.new_id != top.new_id) continue;  // stale entry
    left.id = top.new_id;
    right.id = -1;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    consider(left.prev);
    consider(top.pos);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) ids.push_back(symbols[i].id);
}

}  // namespace localmoe
