// Hundreds of requests of random lengths, shared prefixes, stops, forks and
// aborts through the scheduler and the fake model, with the scheduler's and
// the block pool's invariants checked at every step and every surviving
// request's tokens compared with what it generates alone.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/scheduler_test_util.h"

namespace localmoe {
namespace {

using testing::engine_config;
using testing::Harness;
using testing::kBlockSize;
using testing::reference_output;

struct SoakCase {
  std::string name;
  int64_t max_num_batched_tokens;
  int64_t max_num_seqs;
  bool chunked_prefill;
  int64_t chunk_tokens;
  bool prefix_caching;
  int64_t num_blocks;
  int64_t num_host_blocks;
  int64_t max_model_len;
  int32_t stop_token;
  bool expect_swaps;
};

// What a request must produce: its prompt, the outputs chosen for it from
// outside (a fork's first token), and its limit.
struct Expected {
  std::vector<int32_t> prompt;
  std::vector<int32_t> forced;
  int64_t max_tokens;
};

class SchedulerSoak : public ::testing::TestWithParam<SoakCase> {};

TEST_P(SchedulerSoak, KeepsItsInvariantsAndEveryRequestsTokens) {
  const SoakCase& c = GetParam();
  Harness h(engine_config(c.max_num_batched_tokens, c.max_num_seqs, c.chunked_prefill,
                          c.chunk_tokens, c.prefix_caching),
            c.num_blocks, c.num_host_blocks, c.max_model_len);
  h.model.stop_token = c.stop_token;
  Scheduler& s = h.scheduler;
  const KvCacheManager& kv = s.kv_cache();
  std::mt19937 rng(1234);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };

  std::vector<std::vector<int32_t>> prefixes;
  for (int i = 0; i < 4; ++i) {
    std::vector<int32_t> p(uniform(4, 30));
    for (int32_t& t : p) t = static_cast<int32_t>(uniform(1, 997));
    prefixes.push_back(p);
  }

  constexpr int kRequests = 300;
  std::map<RequestId, Expected> expected;
  std::set<RequestId> live, aborted;
  RequestId next_id = 1;
  int added = 0, forks = 0;
  int64_t steps = 0;
  std::vector<int32_t> ref(c.num_blocks);

  while ((added < kRequests || s.has_unfinished()) && steps < 100000) {
    ++steps;
    // Arrivals.
    for (int64_t k = uniform(0, 2); k > 0 && added < kRequests; --k, ++added) {
      std::vector<int32_t> prompt;
      if (uniform(0, 1) == 1) prompt = prefixes[uniform(0, 3)];
      const int64_t longest = std::min(c.max_model_len, c.num_blocks * kBlockSize);
      const int64_t suffix = uniform(prompt.empty() ? 1 : 0, std::min<int64_t>(30, longest / 2));
      for (int64_t i = 0; i < suffix; ++i) prompt.push_back(static_cast<int32_t>(uniform(1, 997)));
      const int64_t room = longest - static_cast<int64_t>(prompt.size());
      SamplingParams params;
      params.max_tokens = uniform(1, std::min<int64_t>(40, room));
      const RequestId id = next_id++;
      expected[id] = Expected{prompt, {}, params.max_tokens};
      s.add_request(id, prompt, params);
      live.insert(id);
    }
    // Aborts, in whatever state the request is.
    if (!live.empty() && uniform(0, 99) < 3) {
      auto it = live.begin();
      std::advance(it, uniform(0, static_cast<int64_t>(live.size()) - 1));
      EXPECT_TRUE(s.abort(*it));
      aborted.insert(*it);
      live.erase(it);
    }

    // Running decodes before this step: each must run or be preempted.
    std::vector<RequestId> decoding;
    for (RequestId id : live) {
      const Request* r = s.find(id);
      if (r->status() == RequestStatus::kRunning &&
          r->num_tokens() - r->num_computed_tokens() == 1) {
        decoding.push_back(id);
      }
    }

    const SchedulerOutput& out = s.schedule();
    int64_t total = 0;
    std::set<RequestId> scheduled;
    for (const ScheduledRequest& e : out.requests) {
      EXPECT_TRUE(scheduled.insert(e.id).second) << "scheduled twice: " << e.id;
      EXPECT_EQ(e.request->status(), RequestStatus::kRunning);
      EXPECT_GE(e.num_scheduled_tokens, 1);
      EXPECT_LE(e.num_computed_tokens + e.num_scheduled_tokens, e.request->num_tokens());
      EXPECT_EQ(e.samples,
                e.num_computed_tokens + e.num_scheduled_tokens == e.request->num_tokens());
      if (!c.chunked_prefill) {
        EXPECT_TRUE(e.samples);
      }
      if (c.chunk_tokens > 0) {
        EXPECT_LE(e.num_scheduled_tokens, c.chunk_tokens);
      }
      total += e.num_scheduled_tokens;
    }
    EXPECT_EQ(total, out.num_scheduled_tokens);
    EXPECT_LE(total, c.max_num_batched_tokens);
    EXPECT_LE(static_cast<int64_t>(out.requests.size()), c.max_num_seqs);
    EXPECT_TRUE(out.swap_in.empty() || out.swap_out.empty());
    for (RequestId id : decoding) {
      const bool preempted =
          std::find(out.preempted.begin(), out.preempted.end(), id) != out.preempted.end();
      EXPECT_TRUE(scheduled.contains(id) || preempted) << "decode starved: " << id;
    }
    // Reference counts are exactly the live block tables.
    std::fill(ref.begin(), ref.end(), 0);
    int64_t host_held = 0;
    for (RequestId id : live) {
      for (int32_t b : kv.block_table(id)) ++ref[b];
      host_held += kv.num_host_blocks_of(id);
    }
    int32_t free_blocks = 0;
    for (int32_t b = 0; b < c.num_blocks; ++b) {
      EXPECT_EQ(kv.pool().ref_count(b), ref[b]) << "block " << b << " step " << steps;
      free_blocks += ref[b] == 0;
    }
    EXPECT_EQ(kv.num_free_blocks(), free_blocks);
    std::vector<int32_t> queue;
    kv.pool().free_queue(queue);
    EXPECT_EQ(static_cast<int32_t>(queue.size()), free_blocks);
    EXPECT_EQ(host_held + kv.num_free_host_blocks(), c.num_host_blocks);
    const SchedulerStats st = s.stats();
    EXPECT_EQ(st.num_running + st.num_waiting + st.num_swapped, static_cast<int64_t>(live.size()));
    if (::testing::Test::HasFailure()) break;

    h.model.run(out, h.outcomes);
    s.update_from_output(h.outcomes);
    h.model.collect(out, h.outcomes);
    for (size_t i = 0; i < out.requests.size(); ++i) {
      if (h.outcomes[i].finish) live.erase(out.requests[i].id);
    }

    // Forks of requests that just sampled.
    if (uniform(0, 99) < 2) {
      for (const ScheduledRequest& e : out.requests) {
        const Request* parent = s.find(e.id);
        if (!e.samples || parent->is_finished() || parent->num_output_tokens() < 1) continue;
        const RequestId child = next_id++;
        // Not the stop token: the engine checks stops on sampled tokens only.
        int32_t first = static_cast<int32_t>(uniform(1, 997));
        if (first == c.stop_token) ++first;
        if (!s.fork(e.id, child, first)) break;
        const auto outputs = parent->output_token_ids();
        Expected x{std::vector<int32_t>(parent->prompt_token_ids().begin(),
                                        parent->prompt_token_ids().end()),
                   std::vector<int32_t>(outputs.begin(), outputs.end()), parent->max_tokens()};
        x.forced.back() = first;
        expected[child] = x;
        live.insert(child);
        ++forks;
        break;
      }
    }
  }

  EXPECT_FALSE(s.has_unfinished());
  h.expect_all_free();
  int64_t compared = 0;
  for (const auto& [id, x] : expected) {
    if (aborted.contains(id)) continue;
    ASSERT_TRUE(h.model.finished.contains(id)) << "request " << id << " never finished";
    const std::vector<int32_t> want =
        reference_output(x.prompt, x.forced, x.max_tokens, c.stop_token);
    EXPECT_EQ(h.model.finished.at(id), want) << "request " << id;
    ++compared;
  }
  const SchedulerStats st = s.stats();
  std::printf(
      "[ %s ] %lld steps, %lld requests compared, %d aborted, %d forks, %lld preemptions "
      "(%lld by swap), prefix hit rate %.3f, %lld KV positions checked\n",
      c.name.c_str(), static_cast<long long>(steps), static_cast<long long>(compared),
      static_cast<int>(aborted.size()), forks, static_cast<long long>(st.num_preemptions),
      static_cast<long long>(st.num_swap_preemptions), st.prefix_cache.hit_rate(),
      static_cast<long long>(h.model.positions_checked));
  EXPECT_GT(compared, kRequests / 2);
  EXPECT_GT(st.num_preemptions, 0);
  if (c.expect_swaps) {
    EXPECT_GT(st.num_swap_preemptions, 0);
  }
  if (c.prefix_caching) {
    EXPECT_GT(st.prefix_cache.hit_tokens, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Configurations, SchedulerSoak,
    ::testing::Values(
        SoakCase{"chunked_prefix_swap", 64, 16, true, 16, true, 48, 64, 128, 13, false},
        SoakCase{"whole_prompts_swap", 128, 8, false, 0, false, 40, 48, 128, -1, true},
        SoakCase{"tight_budget_recompute", 8, 8, true, 0, true, 24, 0, 64, 13, false},
        SoakCase{"small_chunks_swap", 32, 12, true, 5, false, 36, 20, 100, -1, true}),
    [](const ::testing::TestParamInfo<SoakCase>& info) { return info.param.name; });

}  // namespace
}  // namespace localmoe
