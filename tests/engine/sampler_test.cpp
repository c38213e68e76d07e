#include "localmoe/engine/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "localmoe/engine/logprobs.h"

namespace localmoe {
namespace {

using Ids = std::vector<int32_t>;
using Logits = std::vector<float>;

const kernels::Kernels& generic() {
  static const kernels::Kernels k = kernels::Kernels::select("generic");
  return k;
}

Logits log_of(const std::vector<double>& p) {
  Logits out;
  for (double v : p) out.push_back(static_cast<float>(std::log(v)));
  return out;
}

// Tokens drawn for `logits` (the same row each time) by one request.
std::vector<int> histogram(SamplingParams params, const Logits& logits, int draws,
                           const kernels::Kernels& kernels = generic()) {
  if (!params.seed) params.seed = 1234;
  params.max_tokens = draws;
  const auto vocab = static_cast<int64_t>(logits.size());
  Sampler sampler(kernels, vocab);
  SamplingState state(params, {}, {});
  std::vector<int> counts(logits.size());
  Logits row;
  for (int i = 0; i < draws; ++i) {
    row = logits;
    ++counts[sampler.sample(row.data(), state).token_id];
  }
  return counts;
}

std::set<int32_t> support(const std::vector<int>& counts) {
  std::set<int32_t> ids;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] > 0) ids.insert(static_cast<int32_t>(i));
  }
  return ids;
}

// The truncated distribution computed the plain way, in double: softmax at
// the temperature, min_p and top_k masks, renormalize, top_p over the
// survivors sorted (ties to the lower id), renormalize.
std::vector<double> reference(const Logits& logits, const SamplingParams& params) {
  const size_t n = logits.size();
  std::vector<double> p(n);
  const double top = *std::max_element(logits.begin(), logits.end());
  for (size_t i = 0; i < n; ++i) p[i] = std::exp((logits[i] - top) / params.temperature);
  const double p_max = 1.0;  // exp(0)
  std::vector<int32_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  const float kth = params.top_k > 0 && params.top_k < static_cast<int64_t>(n)
                        ? logits[order[params.top_k - 1]]
                        : -INFINITY;
  for (size_t i = 0; i < n; ++i) {
    if (p[i] < params.min_p * p_max || logits[i] < kth) p[i] = 0.0;
  }
  double total = std::accumulate(p.begin(), p.end(), 0.0);
  double above = 0.0;
  for (int32_t id : order) {
    const double mass = p[id];
    if (above >= params.top_p * total) p[id] = 0.0;
    above += mass;
  }
  total = std::accumulate(p.begin(), p.end(), 0.0);
  for (double& v : p) v /= total;
  return p;
}

std::set<int32_t> reference_support(const Logits& logits, const SamplingParams& params) {
  const std::vector<double> p = reference(logits, params);
  std::set<int32_t> ids;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] > 0) ids.insert(static_cast<int32_t>(i));
  }
  return ids;
}

// Pearson's statistic and its degrees of freedom; cells expecting fewer than
// 5 draws are pooled into one (the approximation needs about that many).
struct ChiSquare {
  double value = 0.0;
  int degrees_of_freedom = -1;
};

ChiSquare chi_square(const std::vector<int>& counts, const std::vector<double>& p) {
  const double n = std::accumulate(counts.begin(), counts.end(), 0.0);
  ChiSquare result;
  double pooled_expected = 0.0, pooled_observed = 0.0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double expected = n * p[i];
    if (expected >= 5.0) {
      result.value += (counts[i] - expected) * (counts[i] - expected) / expected;
      ++result.degrees_of_freedom;
    } else if (p[i] > 0) {
      pooled_expected += expected;
      pooled_observed += counts[i];
    }
  }
  if (pooled_expected > 0) {
    const double d = pooled_observed - pooled_expected;
    result.value += d * d / pooled_expected;
    ++result.degrees_of_freedom;
  }
  return result;
}

SamplingParams greedy() {
  SamplingParams params;
  params.temperature = 0.0f;
  params.max_tokens = 100;
  return params;
}

int32_t sample_once(const SamplingParams& params, Logits logits, const Ids& prompt = {},
                    const std::vector<int64_t>& eos = {}) {
  Sampler sampler(generic(), static_cast<int64_t>(logits.size()));
  SamplingState state(params, prompt, eos);
  return sampler.sample(logits.data(), state).token_id;
}

// ---- greedy and the logits processors -------------------------------------

TEST(Sampler, GreedyIsArgmaxWithTiesToTheLowestId) {
  EXPECT_EQ(sample_once(greedy(), {0.1f, 2.0f, -1.0f, 1.9f}), 1);
  EXPECT_EQ(sample_once(greedy(), {1.0f, 3.0f, 3.0f, 2.0f}), 1);
  SamplingParams truncated = greedy();
  truncated.top_k = 1;
  truncated.min_p = 1.0f;
  truncated.temperature = 0.5f * kGreedyTemperature;
  EXPECT_EQ(sample_once(truncated, {1.0f, 3.0f, 3.0f, 2.0f}), 1);
}

TEST(Sampler, LogitBiasComesFirstAndIsClamped) {
  SamplingParams params = greedy();
  params.logit_bias = {{0, 2.5f}};
  EXPECT_EQ(sample_once(params, {1.0f, 3.0f, 0.0f}), 0);  // 3.5 > 3
  params.logit_bias = {{0, 1000.0f}};                     // counts as +100
  EXPECT_EQ(sample_once(params, {0.0f, 150.0f}), 1);
  params.logit_bias = {{1, -1000.0f}};  // counts as -100: 150 - 100 > 49
  EXPECT_EQ(sample_once(params, {49.0f, 150.0f}), 1);
}

TEST(Sampler, MinTokensSuppressesEosAndStopIds) {
  SamplingParams params = greedy();
  params.min_tokens = 2;
  params.stop_token_ids = {1};
  params.ignore_eos = true;  // still suppressed, as in vLLM
  Sampler sampler(generic(), 4);
  SamplingState state(params, {}, std::vector<int64_t>{0});
  Ids tokens;
  for (int step = 0; step < 3; ++step) {
    Logits logits = {5.0f, 4.0f, 3.0f, 1.0f};  // EOS, then the stop id, lead
    tokens.push_back(sampler.sample(logits.data(), state).token_id);
  }
  EXPECT_EQ(tokens, (Ids{2, 2, 0}));
  EXPECT_EQ(state.num_output_tokens(), 3);
}

TEST(Sampler, RepetitionPenaltyCoversThePrompt) {
  SamplingParams params = greedy();
  params.repetition_penalty = 2.0f;
  EXPECT_EQ(sample_once(params, {2.0f, 1.5f}, /*prompt=*/{0}), 1);    // 2 / 2 < 1.5
  EXPECT_EQ(sample_once(params, {-1.0f, -1.5f}, /*prompt=*/{0}), 1);  // -1 * 2 < -1.5
}

TEST(Sampler, FrequencyPenaltyCountsGeneratedTokens) {
  SamplingParams params = greedy();
  params.frequency_penalty = 0.15f;
  Sampler sampler(generic(), 3);
  SamplingState state(params, {}, {});
  Ids tokens;
  for (int step = 0; step < 6; ++step) {
    Logits logits = {1.0f, 0.8f, 0.0f};
    tokens.push_back(sampler.sample(logits.data(), state).token_id);
  }
  // 1 > .8; .85 > .8; .7 < .8; .7 > .65; .55 < .65; .55 > .5
  EXPECT_EQ(tokens, (Ids{0, 0, 1, 0, 1, 0}));
}

// ---- truncation -------------------------------------------------------------

struct TruncationCase {
  const char* what;
  float temperature = 1.0f;
  int64_t top_k = 0;
  float top_p = 1.0f;
  float min_p = 0.0f;
  std::set<int32_t> kept;
};

TEST(Sampler, TruncationKeepsExactlyTheRightTokens) {
  const Logits logits = log_of({0.4, 0.3, 0.2, 0.1});
  const std::vector<TruncationCase> cases = {
      {"top_k", 1.0f, 2, 1.0f, 0.0f, {0, 1}},
      {"top_p: 0.4 + 0.3 reaches 0.65", 1.0f, 0, 0.65f, 0.0f, {0, 1}},
      {"min_p: p >= 0.3 * 0.4", 1.0f, 0, 1.0f, 0.3f, {0, 1, 2}},
      {"min_p after temperature 2: sqrt ratios", 2.0f, 0, 1.0f, 0.6f, {0, 1, 2}},
      {"min_p at temperature 1", 1.0f, 0, 1.0f, 0.6f, {0, 1}},
      {"top_p over top_k's renormalized pair: 4/7 >= 0.5", 1.0f, 2, 0.5f, 0.0f, {0}},
      {"top_p over min_p's survivors: 7/9 >= 0.75", 1.0f, 0, 0.75f, 0.3f, {0, 1}},
      {"min_p and top_k: the stricter wins", 1.0f, 3, 1.0f, 0.6f, {0, 1}},
      {"top_k = vocabulary: all", 1.0f, 4, 1.0f, 0.0f, {0, 1, 2, 3}},
  };
  for (const TruncationCase& c : cases) {
    SamplingParams params;
    params.temperature = c.temperature;
    params.top_k = c.top_k;
    params.top_p = c.top_p;
    params.min_p = c.min_p;
    EXPECT_EQ(support(histogram(params, logits, 4000)), c.kept) << c.what;
    EXPECT_EQ(reference_support(logits, params), c.kept) << c.what;
  }
}

TEST(Sampler, TopKKeepsEveryTokenTiedWithTheKth) {
  SamplingParams params;
  params.top_k = 2;
  EXPECT_EQ(support(histogram(params, {3.0f, 2.0f, 2.0f, 1.0f}, 4000)),
            (std::set<int32_t>{0, 1, 2}));
}

TEST(Sampler, TopPCutInsideACrowdedBucket) {
  // One leading token and 200 close behind it: their logits differ by less
  // than a bucket, so the cut is placed by sorting that bucket.
  Logits logits = {6.0f};
  for (int i = 0; i < 200; ++i) logits.push_back(2.0f + 0.0003f * static_cast<float>(i % 97));
  for (int i = 0; i < 300; ++i) logits.push_back(-3.0f);
  SamplingParams params;
  params.top_p = 0.8f;
  const std::set<int32_t> expected = reference_support(logits, params);
  ASSERT_GT(expected.size(), 20u);
  ASSERT_LT(expected.size(), 180u);
  EXPECT_EQ(support(histogram(params, logits, 60000, kernels::Kernels::select("best"))), expected);
}

// The sampled histogram against the truncated softmax. With 200,000 draws
// the bound (chi-square, 6 degrees of freedom, p = 1e-6) is passed by the
// right distribution and failed by near misses (checked below).
TEST(Sampler, DrawsFollowTheTruncatedSoftmax) {
  const Logits logits = {2.0f, 1.5f,  1.2f,  1.0f,  0.6f,  0.3f,
                         0.0f, -0.4f, -0.9f, -1.5f, -2.2f, -3.0f};
  SamplingParams params;
  params.temperature = 0.8f;
  params.top_k = 9;
  params.top_p = 0.95f;
  params.min_p = 0.02f;
  const std::vector<double> expected = reference(logits, params);
  ASSERT_EQ(std::count_if(expected.begin(), expected.end(), [](double p) { return p > 0; }), 7);
  constexpr double kBound = 38.3;
  for (const std::string& variant : {std::string("generic"), std::string("best")}) {
    const std::vector<int> counts =
        histogram(params, logits, 200000, kernels::Kernels::select(variant));
    const ChiSquare right = chi_square(counts, expected);
    EXPECT_EQ(right.degrees_of_freedom, 6);
    EXPECT_LT(right.value, kBound) << variant;
    SamplingParams near = params;
    near.temperature = 1.0f;
    EXPECT_GT(chi_square(counts, reference(logits, near)).value, 10 * kBound) << variant;
    near = params;
    near.top_p = 0.9f;  // one token fewer
    EXPECT_GT(chi_square(counts, reference(logits, near)).value, 3 * kBound) << variant;
  }
}

TEST(Sampler, DrawsFollowTheSoftmaxOverALargeVocabulary) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  Logits logits(2000);
  for (float& v : logits) v = normal(rng);
  SamplingParams params;
  params.temperature = 1.3f;
  const std::vector<int> counts =
      histogram(params, logits, 200000, kernels::Kernels::select("best"));
  // With d degrees of freedom the statistic has mean d and sd sqrt(2 d): the
  // right distribution stays within 6 sd, a temperature off by 8% does not.
  const ChiSquare right = chi_square(counts, reference(logits, params));
  ASSERT_GT(right.degrees_of_freedom, 1000);
  EXPECT_LT(right.value, right.degrees_of_freedom + 6 * std::sqrt(2.0 * right.degrees_of_freedom));
  SamplingParams near = params;
  near.temperature = 1.2f;
  const ChiSquare wrong = chi_square(counts, reference(logits, near));
  EXPECT_GT(wrong.value, wrong.degrees_of_freedom + 10 * std::sqrt(2.0 * wrong.degrees_of_freedom));
}

// ---- seeds ------------------------------------------------------------------

Logits step_logits(int step, int64_t vocab) {
  Logits logits(static_cast<size_t>(vocab));
  for (int64_t i = 0; i < vocab; ++i) logits[i] = std::sin(0.37f * i + 1.3f * step) * 2.0f;
  return logits;
}

TEST(Sampler, ASeededRequestIgnoresItsBatch) {
  constexpr int64_t kVocab = 50;
  SamplingParams params;
  params.seed = 7;
  params.top_p = 0.9f;
  params.top_k = 20;
  params.presence_penalty = 0.5f;
  params.max_tokens = 40;

  Ids alone;
  {
    Sampler sampler(generic(), kVocab);
    SamplingState state(params, Ids{1, 2, 3}, {});
    for (int step = 0; step < 40; ++step) {
      Logits row = step_logits(step, kVocab);
      alone.push_back(sampler.sample(row.data(), state).token_id);
    }
  }

  // The same request in a batch with a seeded, an unseeded and a greedy
  // request, its row moving between positions.
  SamplingParams other = params;
  other.seed = 8;
  SamplingParams unseeded = params;
  unseeded.seed.reset();
  Sampler sampler(generic(), kVocab);
  SamplingState mine(params, Ids{1, 2, 3}, {});
  SamplingState a(other, {}, {}), b(unseeded, {}, {}), c(greedy(), {}, {});
  Ids batched;
  for (int step = 0; step < 40; ++step) {
    std::vector<SamplingState*> states = {&a, &b, &c};
    const size_t position = static_cast<size_t>(step) % 4;
    states.insert(states.begin() + static_cast<std::ptrdiff_t>(position), &mine);
    Logits rows;
    for (size_t r = 0; r < states.size(); ++r) {
      const Logits row =
          states[r] == &mine ? step_logits(step, kVocab) : step_logits(static_cast<int>(r), kVocab);
      rows.insert(rows.end(), row.begin(), row.end());
    }
    std::vector<SampledToken> out(states.size());
    sampler.sample(rows.data(), states, out);
    batched.push_back(out[position].token_id);
  }
  EXPECT_EQ(batched, alone);
  EXPECT_GT(std::set<int32_t>(alone.begin(), alone.end()).size(), 5u);  // really sampled
}

// The draw protocol, pinned: one 64-bit draw of mt19937_64(seed) per token,
// its top 53 bits as u in [0, 1), the first id (in id order) whose
// cumulative probability exceeds u.
TEST(Sampler, OneDrawPerTokenFromTheRequestsOwnStream) {
  SamplingParams params;
  params.seed = 99;
  params.max_tokens = 200;
  const std::vector<double> p = {0.5, 0.3, 0.2};
  Sampler sampler(generic(), 3);
  SamplingState state(params, {}, {});
  std::mt19937_64 rng(99);
  for (int step = 0; step < 200; ++step) {
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    const int32_t expected = u < 0.5 ? 0 : u < 0.8 ? 1 : 2;
    Logits logits = log_of(p);
    ASSERT_EQ(sampler.sample(logits.data(), state).token_id, expected) << step;
  }
}

TEST(Sampler, SeedsOfTheNChoicesAndOfUnseededRequests) {
  SamplingParams params;
  params.seed = 7;
  EXPECT_EQ(SamplingState(params, {}, {}).seed(), 7u);
  EXPECT_EQ(SamplingState(params, {}, {}, /*sample_index=*/2).seed(), 9u);
  params.seed.reset();
  EXPECT_NE(SamplingState(params, {}, {}).seed(), SamplingState(params, {}, {}).seed());
}

TEST(Sampler, RowsOfABatchSampleAsOneRowAtATime) {
  constexpr int64_t kVocab = 50;
  SamplingParams params;
  params.seed = 11;
  params.max_tokens = 30;
  params.top_k = 20;
  Sampler batched(generic(), kVocab);
  Sampler single(generic(), kVocab);
  std::vector<SamplingState> batch_states, single_states;
  for (int64_t i = 0; i < 3; ++i) {
    batch_states.emplace_back(params, std::span<const int32_t>(), std::span<const int64_t>(), i);
    single_states.emplace_back(params, std::span<const int32_t>(), std::span<const int64_t>(), i);
  }
  std::vector<SamplingState*> rows = {&batch_states[0], &batch_states[1], &batch_states[2]};
  std::vector<SampledToken> out(3);
  for (int step = 0; step < 30; ++step) {
    Logits all;
    for (int i = 0; i < 3; ++i) {
      const Logits row = step_logits(step + 7 * i, kVocab);
      all.insert(all.end(), row.begin(), row.end());
    }
    Logits copy = all;
    batched.sample(all.data(), rows, out);
    for (size_t i = 0; i < 3; ++i) {
      ASSERT_EQ(out[i].token_id, single.sample(copy.data() + i * kVocab, single_states[i]).token_id)
          << "step " << step << ", row " << i;
    }
  }
}

// ---- logprobs ---------------------------------------------------------------

TEST(Sampler, LogprobsAreTheRawModelDistribution) {
  const Logits logits = {0.5f, 2.0f, -1.0f, 2.0f, 0.0f, 1.0f, -3.0f, 0.25f, 1.5f, -0.5f};
  double normalizer = 0.0;
  for (float v : logits) normalizer += std::exp(static_cast<double>(v));
  auto raw_logprob = [&](int32_t id) { return logits[id] - std::log(normalizer); };

  SamplingParams params;
  params.seed = 5;
  params.temperature = 0.7f;  // none of these change the returned logprobs
  params.logit_bias = {{6, 3.0f}};
  params.repetition_penalty = 1.3f;
  params.top_k = 4;
  params.logprobs = 20;  // more than the vocabulary: all 10
  Sampler sampler(generic(), 10);
  SamplingState state(params, Ids{1}, {});
  Logits row = logits;
  const SampledToken sampled = sampler.sample(row.data(), state);
  ASSERT_TRUE(sampled.logprobs);
  const Logprobs& lp = *sampled.logprobs;
  EXPECT_EQ(lp.token.token_id, sampled.token_id);
  EXPECT_NEAR(lp.token.logprob, raw_logprob(sampled.token_id), 1e-5);
  ASSERT_EQ(lp.num_top, 10);
  double mass = 0.0;
  for (const TokenLogprob& t : lp.top_logprobs()) {
    EXPECT_NEAR(t.logprob, raw_logprob(t.token_id), 1e-5) << t.token_id;
    mass += std::exp(static_cast<double>(t.logprob));
  }
  EXPECT_NEAR(mass, 1.0, 1e-5);
  Ids order;
  for (const TokenLogprob& t : lp.top_logprobs()) order.push_back(t.token_id);
  EXPECT_EQ(order, (Ids{1, 3, 8, 5, 0, 7, 4, 9, 2, 6}));  // ties: the lower id first
  int64_t rank = 0;
  for (float v : logits) rank += v >= logits[sampled.token_id];
  EXPECT_EQ(lp.rank, rank);

  params.logprobs.reset();
  SamplingState without(params, Ids{1}, {});
  row = logits;
  EXPECT_FALSE(sampler.sample(row.data(), without).logprobs);
}

TEST(Logprobs, RankTopNAndTies) {
  Logits logits = {1.0f, 3.0f, 3.0f, 2.0f};
  Logprobs lp = compute_logprobs(generic(), logits.data(), 4, /*token_id=*/2, /*num_top=*/2);
  EXPECT_EQ(lp.rank, 2);  // 3 and 3 are >= 3
  ASSERT_EQ(lp.num_top, 2);
  EXPECT_EQ(lp.top[0].token_id, 1);
  EXPECT_EQ(lp.top[1].token_id, 2);
  const double normalizer = std::log(std::exp(1.0) + 2 * std::exp(3.0) + std::exp(2.0));
  EXPECT_NEAR(lp.token.logprob, 3.0 - normalizer, 1e-6);
  logits = {1.0f, 3.0f, 3.0f, 2.0f};
  lp = compute_logprobs(generic(), logits.data(), 4, /*token_id=*/0, /*num_top=*/0);
  EXPECT_EQ(lp.rank, 4);
  EXPECT_EQ(lp.num_top, 0);
  EXPECT_NEAR(lp.token.logprob, 1.0 - normalizer, 1e-6);
}

TEST(Sampler, BatchRowsAreIndependent) {
  SamplingParams params = greedy();
  Sampler sampler(generic(), 3);
  SamplingState a(params, {}, {}), b(params, {}, {});
  SamplingState* states[] = {&a, &b};
  std::vector<SampledToken> out(2);
  Logits rows = {0.0f, 1.0f, 0.5f, 2.0f, 1.0f, 0.0f};
  sampler.sample(rows.data(), states, out);
  EXPECT_EQ(out[0].token_id, 1);
  EXPECT_EQ(out[1].token_id, 0);
}

}  // namespace
}  // namespace localmoe
