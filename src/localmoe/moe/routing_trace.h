#pragma once
// The experts every MoE layer chose for every token, in sequence order: the
// record that routing statistics (usage histograms, entropy) and expert-cache
// replays are computed from. Recording costs one append of top_k ids per
// token and layer; nothing is recorded unless a trace is attached.

#include <cstdint>
#include <span>
#include <vector>

namespace localmoe {

class RoutingTrace {
 public:
  RoutingTrace(int64_t num_layers, int64_t num_experts, int64_t top_k);

  int64_t num_layers() const { return static_cast<int64_t>(choices_.size()); }
  int64_t num_experts() const { return num_experts_; }
  int64_t top_k() const { return top_k_; }

  // Appends num_tokens rows of top_k expert ids ([num_tokens, top_k],
  // highest weight first) to `layer`'s record.
  void record(int64_t layer, const int32_t* experts, int64_t num_tokens);

  // Tokens recorded for `layer`, and their choices as [tokens, top_k].
  int64_t num_tokens(int64_t layer) const;
  std::span<const int32_t> choices(int64_t layer) const;

  void clear();

 private:
  int64_t num_experts_;
  int64_t top_k_;
  std::vector<std::vector<int32_t>> choices_;  // per layer
};

}  // namespace localmoe
