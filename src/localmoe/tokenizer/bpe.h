#pragma once
// The BPE model of the Hugging Face tokenizers format: a vocabulary and a
// ranked merge list, applied to one pre-tokenized word at a time by merging
// the lowest-ranked adjacent pair first (leftmost on ties), with SentencePiece
// byte fallback (<0xXX> tokens) and unknown-token fusion.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace localmoe {

// Hashing for string-keyed maps that accept string_view lookups.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TokenMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

struct BpeOptions {
  std::optional<std::string> unk_token;  // emitted for characters not in the vocabulary
  bool fuse_unk = false;                 // consecutive unknowns become one unk token
  bool byte_fallback = false;            // unknown characters become <0xXX> byte tokens
  bool ignore_merges = false;            // a word found whole in the vocabulary is one token
};

class BpeModel {
 public:
  // `merges` are pairs of token strings, highest priority first.
  BpeModel(TokenMap vocab, const std::vector<std::pair<std::string, std::string>>& merges,
           BpeOptions options);

  // Parses the "model" object of tokenizer.json (type BPE).
  static BpeModel from_json(const nlohmann::json& model);

  // Appends the ids of one word (already normalized and pre-tokenized).
  void encode_word(std::string_view word, std::vector<int32_t>& ids) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  // The token string of `id`, or nullptr when no model token has that id.
  const std::string* id_to_token(int32_t id) const;
  std::size_t vocab_size() const { return id_to_token_.size(); }

 private:
  struct MergeTarget {
    uint32_t rank;
    int32_t new_id;
  };
  static uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  void merge_word(std::string_view word, std::vector<int32_t>& ids) const;

  TokenMap vocab_;
  std::vector<std::string> id_to_token_;  // [max id + 1]; empty strings for holes
  std::unordered_map<uint64_t, MergeTarget> merges_;
  BpeOptions options_;
  std::optional<int32_t> unk_id_;
  int32_t byte_ids_[256];  // id of <0xXX> per byte, -1 if absent

  // Words seen before: encoding is pure, so results are memoized. Bounded,
  // cleared when full; guarded because encode() is const and may run on
  // several threads.
  struct WordCache {
    std::mutex mutex;
    std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> words;
  };
  std::unique_ptr<WordCache> cache_ = std::make_unique<WordCache>();
};

}  // namespace localmoe
