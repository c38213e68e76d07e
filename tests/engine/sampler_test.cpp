#include "localmoe/engine/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "localmoe/base/error.h"

namespace localmoe {
namespace {

std::vector<float> log_probs(const std::vector<double>& p) {
  std::vector<float> out;
  for (double v : p) out.push_back(static_cast<float>(std::log(v)));
  return out;
}

std::vector<int> histogram(SamplingParams params, const std::vector<double>& p, int draws) {
  Sampler sampler(params, static_cast<int64_t>(p.size()));
  std::vector<int> counts(p.size());
  for (int i = 0; i < draws; ++i) {
    std::vector<float> logits = log_probs(p);
    counts[sampler.sample(logits.data())]++;
  }
  return counts;
}

TEST(Sampler, GreedyIsArgmax) {
  SamplingParams params;
  params.temperature = 0.0f;
  Sampler sampler(params, 4);
  std::vector<float> logits = {0.1f, 2.0f, -1.0f, 1.9f};
  EXPECT_EQ(sampler.sample(logits.data()), 1);
}

TEST(Sampler, FollowsTheDistributionAtTemperatureOne) {
  SamplingParams params;
  params.seed = 7;
  const std::vector<double> p = {0.5, 0.3, 0.2};
  const int draws = 20000;
  const std::vector<int> counts = histogram(params, p, draws);
  for (size_t i = 0; i < p.size(); ++i) EXPECT_NEAR(counts[i] / double(draws), p[i], 0.015) << i;
}

TEST(Sampler, TruncationRules) {
  const std::vector<double> p = {0.5, 0.3, 0.15, 0.05};
  SamplingParams top_k;
  top_k.seed = 1;
  top_k.top_k = 2;
  std::vector<int> counts = histogram(top_k, p, 4000);
  EXPECT_EQ(counts[2] + counts[3], 0);
  EXPECT_NEAR(counts[0] / 4000.0, 0.5 / 0.8, 0.03);

  SamplingParams top_p;
  top_p.seed = 2;
  top_p.top_p = 0.75f;  // 0.5 + 0.3 reaches it: two tokens kept
  counts = histogram(top_p, p, 4000);
  EXPECT_EQ(counts[2] + counts[3], 0);
  EXPECT_GT(counts[1], 0);

  SamplingParams min_p;
  min_p.seed = 3;
  min_p.min_p = 0.5f;  // keeps p >= 0.25
  counts = histogram(min_p, p, 4000);
  EXPECT_EQ(counts[2] + counts[3], 0);
  EXPECT_GT(counts[1], 0);
}

TEST(Sampler, SameSeedSameSequence) {
  SamplingParams params;
  params.seed = 42;
  params.temperature = 1.3f;
  const std::vector<double> p = {0.25, 0.25, 0.25, 0.25};
  Sampler a(params, 4), b(params, 4);
  for (int i = 0; i < 100; ++i) {
    std::vector<float> la = log_probs(p), lb = log_probs(p);
    ASSERT_EQ(a.sample(la.data()), b.sample(lb.data()));
  }
}

TEST(SamplingParams, ValidationNamesTheField) {
  SamplingParams params;
  params.top_p = 0.0f;
  try {
    params.validate();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("top_p"), std::string::npos);
  }
  params = {};
  params.temperature = -1.0f;
  EXPECT_THROW(params.validate(), Error);
  params = {};
  params.max_tokens = 0;
  EXPECT_THROW(params.validate(), Error);
}

}  // namespace
}  // namespace localmoe
