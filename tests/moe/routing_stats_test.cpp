#include "localmoe/moe/routing_stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "loader/expect_error.h"
#include "localmoe/base/error.h"

namespace localmoe {
namespace {

using testing::expect_error;

RoutingTrace one_layer_trace(int64_t experts, int64_t k, const std::vector<int32_t>& choices) {
  RoutingTrace trace(1, experts, k);
  trace.record(0, choices.data(), static_cast<int64_t>(choices.size()) / k);
  return trace;
}

TEST(ExpertUsage, UniformRoutingHasFullEntropy) {
  const auto usage = expert_usage(one_layer_trace(4, 2, {0, 1, 2, 3, 3, 2, 1, 0}));
  ASSERT_EQ(usage.size(), 1u);
  EXPECT_EQ(usage[0].routed, (std::vector<int64_t>{2, 2, 2, 2}));
  EXPECT_DOUBLE_EQ(usage[0].entropy_bits, 2.0);
  EXPECT_DOUBLE_EQ(usage[0].normalized_entropy, 1.0);
}

TEST(ExpertUsage, SkewedRoutingByHand) {
  // Shares 1/2, 1/4, 1/4, 0: H = 0.5*1 + 2*0.25*2 = 1.5 bits of log2(4) = 2.
  const auto usage = expert_usage(one_layer_trace(4, 1, {0, 0, 1, 2}));
  EXPECT_EQ(usage[0].routed, (std::vector<int64_t>{2, 1, 1, 0}));
  EXPECT_DOUBLE_EQ(usage[0].entropy_bits, 1.5);
  EXPECT_DOUBLE_EQ(usage[0].normalized_entropy, 0.75);
}

TEST(ExpertUsage, OneExpertOnlyHasZeroEntropy) {
  const auto usage = expert_usage(one_layer_trace(8, 1, {5, 5, 5}));
  EXPECT_DOUBLE_EQ(usage[0].entropy_bits, 0.0);
  EXPECT_DOUBLE_EQ(usage[0].normalized_entropy, 0.0);
}

TEST(LruExpertCacheReplay, EvictsTheLeastRecentlyUsedByHand) {
  // One layer of 4 experts, top-1, budget 1/2 = 2 resident.
  // 0 miss [0], 1 miss [1 0], 0 hit [0 1], 2 miss evicts 1 [2 0], 1 miss
  // evicts 0 [1 2], 2 hit [2 1]: 2 hits of 6.
  const auto replay = replay_lru_expert_cache(one_layer_trace(4, 1, {0, 1, 0, 2, 1, 2}), 0.5);
  EXPECT_EQ(replay.capacity, 2);
  EXPECT_EQ(replay.accesses, 6);
  EXPECT_EQ(replay.hits, 2);
  EXPECT_DOUBLE_EQ(replay.hit_rate(), 2.0 / 6.0);
}

TEST(LruExpertCacheReplay, ReplaysTokenByTokenAcrossLayers) {
  // Two layers x 2 experts, top-1, budget 1/2 = 2 resident, shared by both
  // layers. Decode order is t0:L0,L1 then t1:L0,L1 ...
  RoutingTrace trace(2, 2, 1);
  const std::vector<int32_t> layer0 = {0, 0, 1};
  const std::vector<int32_t> layer1 = {1, 1, 1};
  trace.record(0, layer0.data(), 3);
  trace.record(1, layer1.data(), 3);
  // (0,0) miss, (1,1) miss, (0,0) hit, (1,1) hit, (0,1) miss evicts (0,0), (1,1) hit.
  const auto replay = replay_lru_expert_cache(trace, 0.5);
  EXPECT_EQ(replay.hits, 3);
  EXPECT_EQ(replay.layer_hits, (std::vector<int64_t>{1, 2}));
  EXPECT_DOUBLE_EQ(replay.layer_hit_rate(1), 2.0 / 3.0);
}

TEST(LruExpertCacheReplay, FullBudgetMissesOnlyOnFirstUse) {
  const auto replay = replay_lru_expert_cache(one_layer_trace(4, 2, {0, 1, 2, 3, 1, 0, 3, 2}), 1.0);
  EXPECT_EQ(replay.capacity, 4);
  EXPECT_EQ(replay.hits, 4);
}

TEST(LruExpertCacheReplay, RejectsBudgetsOutsideTheUnitInterval) {
  const RoutingTrace trace = one_layer_trace(4, 1, {0});
  for (const auto& [budget, text] :
       {std::pair{0.0, "expert budget 0 "}, std::pair{1.5, "expert budget 1.5 "},
        std::pair{std::nan(""), "expert budget nan "}}) {
    expect_error([&] { replay_lru_expert_cache(trace, budget); }, ErrorKind::kInvalidArgument,
                 {text, "must be a fraction in (0, 1]"});
  }
}

}  // namespace
}  // namespace localmoe
