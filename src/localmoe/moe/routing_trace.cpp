#include "localmoe/moe/routing_trace.h"

#include "localmoe/base/error.h"

namespace localmoe {

RoutingTrace::RoutingTrace(int64_t num_layers, int64_t num_experts, int64_t top_k)
    : num_experts_(num_experts), top_k_(top_k), choices_(static_cast<size_t>(num_layers)) {
  LM_CHECK(num_layers > 0 && num_experts > 0 && top_k >= 1 && top_k <= num_experts);
}

void RoutingTrace::record(int64_t layer, const int32_t* experts, int64_t num_tokens) {
  LM_CHECK(layer >= 0 && layer < num_layers());
  for (int64_t i = 0; i < num_tokens * top_k_; ++i) {
    LM_DCHECK(experts[i] >= 0 && experts[i] < num_experts_);
  }
  std::vector<int32_t>& record = choices_[static_cast<size_t>(layer)];
  record.insert(record.end(), experts, experts + num_tokens * top_k_);
}

int64_t RoutingTrace::num_tokens(int64_t layer) const {
  return static_cast<int64_t>(choices(layer).size()) / top_k_;
}

std::span<const int32_t> RoutingTrace::choices(int64_t layer) const {
  LM_CHECK(layer >= 0 && layer < num_layers());
  return choices_[static_cast<size_t>(layer)];
}

void RoutingTrace::clear() {
  for (std::vector<int32_t>& record : choices_) record.clear();
}

}  // namespace localmoe
