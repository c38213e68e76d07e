#include "localmoe/moe/router.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace localmoe {
namespace {

TEST(Router, SoftmaxTopKRenormalized) {
  // Two tokens over four experts.
  std::vector<float> logits = {0.0f, 2.0f, 1.0f, -1.0f,  //
                               3.0f, 3.0f, 0.0f, 5.0f};
  std::vector<int32_t> experts(4);
  std::vector<float> weights(4);
  route_top_k({4, 2, true}, logits.data(), 2, experts.data(), weights.data(),
              kernels::Kernels::select("generic"));
  EXPECT_EQ(experts, (std::vector<int32_t>{1, 2, 3, 0}));  // tie 0/1 goes to the lower id
  EXPECT_NEAR(weights[0], std::exp(2.0) / (std::exp(2.0) + std::exp(1.0)), 1e-6);
  EXPECT_NEAR(weights[0] + weights[1], 1.0f, 1e-6);
  EXPECT_NEAR(weights[2], std::exp(5.0) / (std::exp(5.0) + std::exp(3.0)), 1e-6);
}

TEST(Router, WithoutRenormalizationKeepsProbabilities) {
  std::vector<float> logits = {0.0f, 0.0f, 0.0f, 0.0f};
  std::vector<int32_t> experts(1);
  std::vector<float> weights(1);
  route_top_k({4, 1, false}, logits.data(), 1, experts.data(), weights.data(),
              kernels::Kernels::select("generic"));
  EXPECT_EQ(experts[0], 0);
  EXPECT_NEAR(weights[0], 0.25f, 1e-7);
}

}  // namespace
}  // namespace localmoe
