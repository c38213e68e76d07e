#include "localmoe/moe/routing_stats.h"

#include <algorithm>
#include <cmath>
#include <list>

#include "localmoe/base/error.h"

namespace localmoe {

std::vector<double> ExpertUsage::shares() const {
  int64_t total = 0;
  for (int64_t count : routed) total += count;
  std::vector<double> out;
  for (int64_t count : routed) out.push_back(total ? static_cast<double>(count) / total : 0.0);
  return out;
}

std::vector<ExpertUsage> expert_usage(const RoutingTrace& trace) {
  std::vector<ExpertUsage> layers(static_cast<size_t>(trace.num_layers()));
  for (int64_t layer = 0; layer < trace.num_layers(); ++layer) {
    ExpertUsage& usage = layers[static_cast<size_t>(layer)];
    usage.routed.assign(static_cast<size_t>(trace.num_experts()), 0);
    const auto choices = trace.choices(layer);
    for (int32_t expert : choices) usage.routed[static_cast<size_t>(expert)]++;
    if (choices.empty()) continue;
    const double total = static_cast<double>(choices.size());
    for (int64_t count : usage.routed) {
      if (count == 0) continue;
      const double p = static_cast<double>(count) / total;
      usage.entropy_bits -= p * std::log2(p);
    }
    usage.normalized_entropy =
        trace.num_experts() > 1 ? usage.entropy_bits / std::log2(trace.num_experts()) : 1.0;
  }
  return layers;
}

double ExpertCacheReplay::layer_hit_rate(int64_t layer) const {
  const int64_t n = layer_accesses[static_cast<size_t>(layer)];
  return n ? static_cast<double>(layer_hits[static_cast<size_t>(layer)]) / n : 0.0;
}

ExpertCacheReplay replay_lru_expert_cache(const RoutingTrace& trace, double budget_fraction) {
  if (!(budget_fraction > 0.0 && budget_fraction <= 1.0)) {
    throw make_error(ErrorKind::kInvalidArgument, "expert budget ", budget_fraction,
                     " must be a fraction in (0, 1]");
  }
  const int64_t layers = trace.num_layers();
  const int64_t experts = trace.num_experts();
  const int64_t k = trace.top_k();
  const int64_t tokens = trace.num_tokens(0);
  for (int64_t layer = 1; layer < layers; ++layer) LM_CHECK_EQ(trace.num_tokens(layer), tokens);

  ExpertCacheReplay replay;
  replay.budget_fraction = budget_fraction;
  replay.capacity =
      std::max<int64_t>(1, std::llround(budget_fraction * static_cast<double>(layers * experts)));
  replay.layer_accesses.assign(static_cast<size_t>(layers), 0);
  replay.layer_hits.assign(static_cast<size_t>(layers), 0);

  // Most recently used at the front; `where` finds an expert's node in O(1).
  std::list<int64_t> recency;
  std::vector<std::list<int64_t>::iterator> where(static_cast<size_t>(layers * experts),
                                                  recency.end());
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t layer = 0; layer < layers; ++layer) {
      const auto choices =
          trace.choices(layer).subspan(static_cast<size_t>(t * k), static_cast<size_t>(k));
      for (int32_t expert : choices) {
        const int64_t key = layer * experts + expert;
        auto& node = where[static_cast<size_t>(key)];
        replay.accesses++;
        replay.layer_accesses[static_cast<size_t>(layer)]++;
        if (node != recency.end()) {
          replay.hits++;
          replay.layer_hits[static_cast<size_t>(layer)]++;
          recency.splice(recency.begin(), recency, node);
          continue;
        }
        if (static_cast<int64_t>(recency.size()) == replay.capacity) {
          where[static_cast<size_t>(recency.back())] = recency.end();
          recency.pop_back();
        }
        recency.push_front(key);
        node = recency.begin();
      }
    }
  }
  return replay;
}

}  // namespace localmoe
