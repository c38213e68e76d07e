// Sampling must not touch the heap per token, whatever the parameters: this
// binary replaces the global operator new with a counting one and samples
// batches between two readings.

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "localmoe/engine/sampler.h"
#include "test_support/counting_new.h"

namespace localmoe {
namespace {

TEST(SamplerAllocation, EveryModeSamplesWithoutAllocating) {
  constexpr int64_t kVocab = 32000;
  constexpr int kSteps = 40;
  std::vector<SamplingParams> all(7);
  all[0].temperature = 0.0f;
  all[1].top_k = 40;
  all[2].top_p = 0.9f;
  all[3].min_p = 0.05f;
  all[4].top_k = 50;
  all[4].top_p = 0.95f;
  all[4].min_p = 0.01f;
  all[5].repetition_penalty = 1.2f;
  all[5].frequency_penalty = 0.5f;
  all[5].presence_penalty = 0.5f;
  all[5].logit_bias = {{7, 5.0f}};
  all[5].min_tokens = 3;
  all[5].stop_token_ids = {2};
  all[6].logprobs = 20;
  all[6].temperature = 0.7f;

  const kernels::Kernels kernels = kernels::Kernels::select("best");
  Sampler sampler(kernels, kVocab);
  const std::vector<int32_t> prompt = {1, 5, 9, 13, 5};
  const std::vector<int64_t> eos = {0};
  std::vector<SamplingState> states;
  states.reserve(all.size());
  for (SamplingParams& params : all) {
    params.seed = 3;
    params.max_tokens = kSteps;
    states.emplace_back(params, prompt, eos);
  }
  std::vector<SamplingState*> rows;
  for (SamplingState& s : states) rows.push_back(&s);
  std::vector<SampledToken> out(rows.size());
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<float> fresh(static_cast<size_t>(kVocab) * rows.size());
  for (float& v : fresh) v = normal(rng);
  std::vector<float> logits(fresh.size());

  const int64_t before = test::heap_allocations();
  ASSERT_GT(before, 0) << "the counting operator new is not in use";
  for (int step = 0; step < kSteps; ++step) {
    std::copy(fresh.begin(), fresh.end(), logits.begin());
    sampler.sample(logits.data(), rows, out);
  }
  EXPECT_EQ(test::heap_allocations() - before, 0);
  EXPECT_TRUE(out[6].logprobs.has_value());
}

}  // namespace
}  // namespace localmoe
