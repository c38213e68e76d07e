#include "localmoe/moe/routing_trace.h"

#include <gtest/gtest.h>

#include <vector>

namespace localmoe {
namespace {

TEST(RoutingTrace, AppendsEachLayersChoicesInTokenOrder) {
  RoutingTrace trace(2, 4, 2);
  const std::vector<int32_t> first = {1, 3, 0, 2};  // two tokens
  const std::vector<int32_t> second = {3, 2};       // one more token
  trace.record(0, first.data(), 2);
  trace.record(0, second.data(), 1);
  trace.record(1, second.data(), 1);
  EXPECT_EQ(trace.num_tokens(0), 3);
  EXPECT_EQ(trace.num_tokens(1), 1);
  const auto layer0 = trace.choices(0);
  EXPECT_EQ(std::vector<int32_t>(layer0.begin(), layer0.end()),
            (std::vector<int32_t>{1, 3, 0, 2, 3, 2}));
  trace.clear();
  EXPECT_EQ(trace.num_tokens(0), 0);
  EXPECT_EQ(trace.num_layers(), 2);
}

}  // namespace
}  // namespace localmoe
