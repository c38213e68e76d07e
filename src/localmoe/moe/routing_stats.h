#pragma once
// What a routing trace says about a model's experts: how evenly each layer
// uses them (histogram and entropy), and how often an LRU expert cache
// holding a given share of all experts would already hold the experts a
// token needs. Skewed routing is what makes an expert cache pay off; these
// figures tell how much before any weights are moved.

#include <cstdint>
#include <vector>

#include "localmoe/moe/routing_trace.h"

namespace localmoe {

struct ExpertUsage {
  std::vector<int64_t> routed;      // per expert: routed (token, slot) pairs
  double entropy_bits = 0.0;        // of the routed-pair distribution over experts
  double normalized_entropy = 0.0;  // entropy / log2(num_experts): 1 = uniform

  // Each expert's share of the routed pairs (all zero when nothing was routed).
  std::vector<double> shares() const;
};

// One entry per layer.
std::vector<ExpertUsage> expert_usage(const RoutingTrace& trace);

struct ExpertCacheReplay {
  double budget_fraction = 0.0;
  int64_t capacity = 0;  // experts resident at once, over all layers
  int64_t accesses = 0;
  int64_t hits = 0;
  std::vector<int64_t> layer_accesses;
  std::vector<int64_t> layer_hits;

  double hit_rate() const { return accesses ? static_cast<double>(hits) / accesses : 0.0; }
  double layer_hit_rate(int64_t layer) const;
};

// Replays the trace in batch-1 decode order (token by token, layers in order,
// each token's experts highest weight first) against a cache that starts
// empty, holds round(budget_fraction x layers x experts) experts (at least
// one) and evicts the least recently used. Throws Error(kInvalidArgument)
// unless 0 < budget_fraction <= 1; every layer must hold the same tokens.
ExpertCacheReplay replay_lru_expert_cache(const RoutingTrace& trace, double budget_fraction);

}  // namespace localmoe
