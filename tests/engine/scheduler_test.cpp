#include "localmoe/engine/scheduler.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "engine/scheduler_test_util.h"
#include "loader/expect_error.h"

namespace localmoe {
namespace {

using testing::engine_config;
using testing::Harness;
using testing::max_tokens;
using testing::reference_output;
using testing::tokens;

std::vector<RequestId> ids_of(const SchedulerOutput& out) {
  std::vector<RequestId> ids;
  for (const ScheduledRequest& s : out.requests) ids.push_back(s.id);
  return ids;
}

std::vector<int64_t> scheduled_tokens(const SchedulerOutput& out) {
  std::vector<int64_t> n;
  for (const ScheduledRequest& s : out.requests) n.push_back(s.num_scheduled_tokens);
  return n;
}

void expect_reference_outputs(const Harness& h, std::initializer_list<RequestId> ids,
                              const std::vector<std::vector<int32_t>>& prompts,
                              int64_t max_new_tokens) {
  size_t i = 0;
  for (RequestId id : ids) {
    ASSERT_TRUE(h.model.finished.contains(id)) << id;
    EXPECT_EQ(h.model.finished.at(id),
              reference_output(prompts[i], {}, max_new_tokens, h.model.stop_token))
        << "request " << id;
    ++i;
  }
}

// ---- batching ---------------------------------------------------------------------

TEST(Scheduler, RunsDecodesFirstThenAdmitsWaitingPromptsFirstComeFirstServed) {
  Harness h(engine_config(/*max_num_batched_tokens=*/16, /*max_num_seqs=*/8), 32, 0, 64);
  h.scheduler.add_request(1, tokens(3), max_tokens(10));
  h.scheduler.add_request(2, tokens(3, 50), max_tokens(10));
  const SchedulerOutput& first = h.step();
  EXPECT_EQ(ids_of(first), (std::vector<RequestId>{1, 2}));
  EXPECT_EQ(scheduled_tokens(first), (std::vector<int64_t>{3, 3}));
  EXPECT_TRUE(first.requests[0].samples);
  EXPECT_EQ(first.num_scheduled_tokens, 6);

  h.scheduler.add_request(3, tokens(20, 100), max_tokens(10));
  const SchedulerOutput& second = h.step();
  EXPECT_EQ(ids_of(second), (std::vector<RequestId>{1, 2, 3}));
  EXPECT_EQ(scheduled_tokens(second), (std::vector<int64_t>{1, 1, 14}));
  EXPECT_EQ(second.requests[0].num_computed_tokens, 3);
  EXPECT_EQ(second.requests[0].block_table.size(), 1u);
  EXPECT_EQ(second.requests[2].num_computed_tokens, 0);
  EXPECT_FALSE(second.requests[2].samples);
  EXPECT_EQ(second.requests[2].block_table.size(), 4u);

  const SchedulerOutput& third = h.step();
  EXPECT_EQ(scheduled_tokens(third), (std::vector<int64_t>{1, 1, 6}));
  EXPECT_EQ(third.requests[2].num_computed_tokens, 14);
  EXPECT_TRUE(third.requests[2].samples);
  h.run_to_completion();
  expect_reference_outputs(h, {1, 2, 3}, {tokens(3), tokens(3, 50), tokens(20, 100)}, 10);
  h.expect_all_free();
}

TEST(Scheduler, MaxNumSeqsCapsTheRunningSet) {
  Harness h(engine_config(16, /*max_num_seqs=*/2), 32, 0, 64);
  h.scheduler.add_request(1, tokens(2), max_tokens(1));
  h.scheduler.add_request(2, tokens(2, 10), max_tokens(5));
  h.scheduler.add_request(3, tokens(2, 20), max_tokens(5));
  EXPECT_EQ(ids_of(h.step()), (std::vector<RequestId>{1, 2}));
  const SchedulerStats s = h.scheduler.stats();
  EXPECT_EQ(s.num_running, 1);  // request 1 finished at its only token
  EXPECT_EQ(s.num_waiting, 1);
  const SchedulerOutput& next = h.step();
  EXPECT_EQ(ids_of(next), (std::vector<RequestId>{2, 3}));
  EXPECT_EQ(next.finished, (std::vector<RequestId>{1}));
  h.run_to_completion();
  h.expect_all_free();
}

TEST(Scheduler, ChunkedPrefillHonoursThePerRequestCap) {
  Harness h(engine_config(16, 4, /*chunked_prefill=*/true, /*chunk_tokens=*/4), 32, 0, 64);
  h.scheduler.add_request(1, tokens(10), max_tokens(2));
  std::vector<int64_t> computed, scheduled;
  std::vector<bool> samples;
  for (int i = 0; i < 3; ++i) {
    const SchedulerOutput& out = h.step();
    ASSERT_EQ(out.requests.size(), 1u);
    computed.push_back(out.requests[0].num_computed_tokens);
    scheduled.push_back(out.requests[0].num_scheduled_tokens);
    samples.push_back(out.requests[0].samples);
  }
  EXPECT_EQ(computed, (std::vector<int64_t>{0, 4, 8}));
  EXPECT_EQ(scheduled, (std::vector<int64_t>{4, 4, 2}));
  EXPECT_EQ(samples, (std::vector<bool>{false, false, true}));
  EXPECT_EQ(h.scheduler.find(1)->num_output_tokens(), 1);
  h.run_to_completion();
  h.expect_all_free();
}

TEST(Scheduler, WithoutChunkingAPromptRunsWholeAndLaterOnesDoNotOvertakeIt) {
  Harness h(engine_config(8, 4, /*chunked_prefill=*/false), 32, 0, /*max_model_len=*/8);
  h.scheduler.add_request(1, tokens(6), max_tokens(2));
  h.scheduler.add_request(2, tokens(5, 10), max_tokens(2));
  h.scheduler.add_request(3, tokens(1, 20), max_tokens(2));
  // 2 tokens are left after request 1: request 2 waits whole, and 3 behind it.
  const SchedulerOutput& first = h.step();
  EXPECT_EQ(ids_of(first), (std::vector<RequestId>{1}));
  const SchedulerOutput& second = h.step();
  EXPECT_EQ(ids_of(second), (std::vector<RequestId>{1, 2, 3}));
  EXPECT_EQ(scheduled_tokens(second), (std::vector<int64_t>{1, 5, 1}));
  h.run_to_completion();
  h.expect_all_free();
}

TEST(Scheduler, APrefillChunkLeavesATokenForEveryRunningDecode) {
  // Request 1's prefill is older than the decodes of 2 and its forks 3 and 4:
  // running in arrival order, it must still leave them one token each.
  Harness h(engine_config(8, 4, true, /*chunk_tokens=*/6), 32, 0, 64);
  h.scheduler.add_request(1, tokens(20), max_tokens(4));
  h.scheduler.add_request(2, tokens(1, 50), max_tokens(8));
  const SchedulerOutput& first = h.step();
  EXPECT_EQ(scheduled_tokens(first), (std::vector<int64_t>{6, 1}));
  ASSERT_TRUE(h.scheduler.fork(2, 3, 500));
  ASSERT_TRUE(h.scheduler.fork(2, 4, 501));
  const SchedulerOutput& second = h.step();
  EXPECT_EQ(ids_of(second), (std::vector<RequestId>{1, 2, 3, 4}));
  EXPECT_EQ(scheduled_tokens(second), (std::vector<int64_t>{5, 1, 1, 1}));
  EXPECT_EQ(second.num_scheduled_tokens, 8);
  h.run_to_completion();
  h.expect_all_free();
}

// ---- forks ------------------------------------------------------------------------

TEST(Scheduler, ForkSharesTheParentsBlocksAndCopiesItsPartialBlock) {
  Harness h(engine_config(16, 4), 16, 0, 64);
  h.scheduler.add_request(1, tokens(6), max_tokens(6));
  h.step();
  const int32_t parent_first = h.scheduler.find(1)->output_token_ids()[0];
  ASSERT_TRUE(h.scheduler.fork(1, 2, 777));
  const Request* child = h.scheduler.find(2);
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->status(), RequestStatus::kRunning);
  EXPECT_EQ(child->num_computed_tokens(), 6);
  EXPECT_EQ(
      std::vector<int32_t>(child->output_token_ids().begin(), child->output_token_ids().end()),
      (std::vector<int32_t>{777}));
  const KvCacheManager& kv = h.scheduler.kv_cache();
  const auto parent_table = kv.block_table(1);
  const auto child_table = kv.block_table(2);
  ASSERT_EQ(child_table.size(), 2u);
  EXPECT_EQ(child_table[0], parent_table[0]);
  EXPECT_EQ(kv.pool().ref_count(parent_table[0]), 2);
  EXPECT_NE(child_table[1], parent_table[1]);

  const SchedulerOutput& out = h.step();
  EXPECT_EQ(out.copy_blocks, (std::vector<BlockCopy>{{parent_table[1], child_table[1]}}));
  EXPECT_EQ(ids_of(out), (std::vector<RequestId>{1, 2}));
  h.run_to_completion();
  EXPECT_EQ(h.model.finished.at(1),
            reference_output(tokens(6), std::vector<int32_t>{parent_first}, 6, -1));
  EXPECT_EQ(h.model.finished.at(2), reference_output(tokens(6), std::vector<int32_t>{777}, 6, -1));
  h.expect_all_free();
}

TEST(Scheduler, ForkNeedsAFreeBlockAndASequenceSlot) {
  Harness h(engine_config(16, /*max_num_seqs=*/2), /*num_blocks=*/2, 0, 8);
  h.scheduler.add_request(1, tokens(6), max_tokens(2));
  h.step();
  EXPECT_FALSE(h.scheduler.fork(1, 2, 5));  // both blocks are the parent's
  EXPECT_EQ(h.scheduler.find(2), nullptr);
  h.run_to_completion();
  Harness g(engine_config(16, /*max_num_seqs=*/1), 8, 0, 8);
  g.scheduler.add_request(1, tokens(6), max_tokens(2));
  g.step();
  EXPECT_FALSE(g.scheduler.fork(1, 2, 5));
  testing::expect_error([&] { g.scheduler.fork(1, 1, 5); }, ErrorKind::kInvalidArgument,
                        {"request 1: the id is already in use"});
  g.run_to_completion();
  g.expect_all_free();
}

// ---- prefix caching ---------------------------------------------------------------

TEST(Scheduler, ALaterRequestReusesTheComputedPrefix) {
  Harness h(engine_config(16, 4), 16, 0, 64);
  h.scheduler.add_request(1, tokens(12), max_tokens(2));
  h.run_to_completion();
  h.scheduler.add_request(2, tokens(12), max_tokens(2));
  const SchedulerOutput& out = h.step();
  ASSERT_EQ(out.requests.size(), 1u);
  // 12 tokens: two full blocks hit, the block with the last token is computed.
  EXPECT_EQ(out.requests[0].num_computed_tokens, 8);
  EXPECT_EQ(out.requests[0].num_scheduled_tokens, 4);
  EXPECT_EQ(h.scheduler.find(2)->num_cached_prompt_tokens(), 8);
  h.run_to_completion();
  EXPECT_EQ(h.model.finished.at(2), h.model.finished.at(1));
  const PrefixCacheStats s = h.scheduler.stats().prefix_cache;
  EXPECT_EQ(s.queries, 2);
  EXPECT_EQ(s.query_tokens, 24);
  EXPECT_EQ(s.hit_tokens, 8);
  EXPECT_DOUBLE_EQ(s.hit_rate(), 8.0 / 24.0);
  h.expect_all_free();
}

TEST(Scheduler, IdenticalPromptsInOneStepBothCompute) {
  // Blocks are cached only once computed, so a hit never points at KV that
  // the same forward pass is still writing.
  Harness h(engine_config(32, 4), 16, 0, 64);
  h.scheduler.add_request(1, tokens(12), max_tokens(2));
  h.scheduler.add_request(2, tokens(12), max_tokens(2));
  const SchedulerOutput& out = h.step();
  EXPECT_EQ(scheduled_tokens(out), (std::vector<int64_t>{12, 12}));
  h.run_to_completion();
  h.expect_all_free();
}

TEST(Scheduler, WithoutPrefixCachingNothingIsReused) {
  Harness h(engine_config(16, 4, true, 0, /*prefix_caching=*/false), 16, 0, 64);
  h.scheduler.add_request(1, tokens(12), max_tokens(2));
  h.run_to_completion();
  h.scheduler.add_request(2, tokens(12), max_tokens(2));
  EXPECT_EQ(h.step().requests[0].num_computed_tokens, 0);
  EXPECT_EQ(h.scheduler.stats().prefix_cache.queries, 0);
  h.run_to_completion();
  h.expect_all_free();
}

// ---- preemption -------------------------------------------------------------------

TEST(Scheduler, PreemptsTheLatestArrivalByRecomputeWhenBlocksRunOut) {
  Harness h(engine_config(16, 4), /*num_blocks=*/4, 0, /*max_model_len=*/16);
  h.scheduler.add_request(1, tokens(6), max_tokens(10));
  h.scheduler.add_request(2, tokens(6, 40), max_tokens(10));
  // Steps 1-3 fit in two blocks each; at step 4 request 1 needs its third.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(h.step().preempted.empty());
  const SchedulerOutput& out = h.step();
  EXPECT_EQ(out.preempted, (std::vector<RequestId>{2}));
  EXPECT_EQ(ids_of(out), (std::vector<RequestId>{1}));
  EXPECT_TRUE(out.swap_out.empty());
  const Request* victim = h.scheduler.find(2);
  EXPECT_EQ(victim->status(), RequestStatus::kPreempted);
  EXPECT_EQ(victim->num_computed_tokens(), 0);
  EXPECT_EQ(victim->num_output_tokens(), 3);  // kept and recomputed with the prompt
  EXPECT_EQ(victim->num_preemptions(), 1);
  EXPECT_FALSE(h.scheduler.kv_cache().holds(2));
  const SchedulerStats s = h.scheduler.stats();
  EXPECT_EQ(s.num_preemptions, 1);
  EXPECT_EQ(s.num_swap_preemptions, 0);
  EXPECT_EQ(s.num_waiting, 1);
  h.run_to_completion();
  expect_reference_outputs(h, {1, 2}, {tokens(6), tokens(6, 40)}, 10);
  h.expect_all_free();
}

TEST(Scheduler, RecomputesAShortSequenceEvenWithHostRoom) {
  // Request 2 has 8 computed tokens at its preemption, fewer than kMinTokensToSwap.
  Harness h(engine_config(16, 4, true, 0, /*prefix_caching=*/false), 4, /*num_host_blocks=*/16, 16);
  h.scheduler.add_request(1, tokens(6), max_tokens(10));
  h.scheduler.add_request(2, tokens(6, 40), max_tokens(10));
  for (int i = 0; i < 3; ++i) h.step();
  EXPECT_EQ(h.step().preempted, (std::vector<RequestId>{2}));
  EXPECT_EQ(h.scheduler.find(2)->status(), RequestStatus::kPreempted);
  EXPECT_EQ(h.scheduler.kv_cache().num_free_host_blocks(), 16);
  h.run_to_completion();
  expect_reference_outputs(h, {1, 2}, {tokens(6), tokens(6, 40)}, 10);
  h.expect_all_free();
}

// Two requests of 70 prompt tokens (18 blocks each) in a 40-block cache grow
// until, at step 12, request 1 needs its 21st block and none is free.
void add_two_long_requests(Harness& h) {
  h.scheduler.add_request(1, tokens(70), max_tokens(20));
  h.scheduler.add_request(2, tokens(70, 300), max_tokens(20));
}

int steps_until_preemption(Harness& h) {
  for (int step = 1; step < 100; ++step) {
    if (!h.step().preempted.empty()) return step;
  }
  return -1;
}

TEST(Scheduler, PreemptsALongSequenceBySwappingAndResumesIt) {
  Harness h(engine_config(256, 4, true, 0, /*prefix_caching=*/false), 40, 40, 96);
  add_two_long_requests(h);
  ASSERT_EQ(steps_until_preemption(h), 12);
  const Request* victim = h.scheduler.find(2);
  EXPECT_EQ(victim->status(), RequestStatus::kSwapped);
  EXPECT_EQ(victim->num_computed_tokens(), 80);  // kept: its KV is in the host area
  const KvCacheManager& kv = h.scheduler.kv_cache();
  EXPECT_EQ(kv.num_host_blocks_of(2), 20);
  EXPECT_EQ(kv.num_free_host_blocks(), 20);
  EXPECT_EQ(h.scheduler.stats().num_swapped, 1);
  EXPECT_EQ(h.scheduler.stats().num_swap_preemptions, 1);

  bool swapped_in = false;
  while (h.scheduler.has_unfinished()) {
    const SchedulerOutput& out = h.step();
    if (!out.swap_in.empty()) {
      swapped_in = true;
      EXPECT_EQ(out.swap_in.size(), 20u);
      EXPECT_EQ(ids_of(out), (std::vector<RequestId>{2}));
      EXPECT_EQ(out.requests[0].num_computed_tokens, 80);
      EXPECT_EQ(out.requests[0].num_scheduled_tokens, 1);
    }
  }
  EXPECT_TRUE(swapped_in);
  expect_reference_outputs(h, {1, 2}, {tokens(70), tokens(70, 300)}, 20);
  h.expect_all_free();
}

TEST(Scheduler, RecomputesWhenTheHostAreaIsTooSmall) {
  Harness h(engine_config(256, 4, true, 0, false), 40, /*num_host_blocks=*/19, 96);
  add_two_long_requests(h);
  ASSERT_EQ(steps_until_preemption(h), 12);
  EXPECT_EQ(h.scheduler.find(2)->status(), RequestStatus::kPreempted);
  EXPECT_EQ(h.scheduler.kv_cache().num_free_host_blocks(), 19);
  h.run_to_completion();
  expect_reference_outputs(h, {1, 2}, {tokens(70), tokens(70, 300)}, 20);
  h.expect_all_free();
}

TEST(Scheduler, RecomputesWhatThePrefixCacheStillHolds) {
  // With prefix caching the victim's full blocks stay cached: only its last
  // few tokens would be recomputed, fewer than kMinTokensToSwap.
  Harness h(engine_config(256, 4), 40, 40, 96);
  add_two_long_requests(h);
  ASSERT_EQ(steps_until_preemption(h), 12);
  EXPECT_EQ(h.scheduler.find(2)->status(), RequestStatus::kPreempted);
  h.run_to_completion();
  expect_reference_outputs(h, {1, 2}, {tokens(70), tokens(70, 300)}, 20);
  EXPECT_GT(h.scheduler.stats().prefix_cache.hit_tokens, 0);
  h.expect_all_free();
}

// ---- finishing and aborting -------------------------------------------------------

TEST(Scheduler, AFinishedRequestFreesItsBlocksAtOnce) {
  Harness h(engine_config(16, 4), 16, 0, 64);
  h.scheduler.add_request(1, tokens(5), max_tokens(1));
  h.step();
  EXPECT_FALSE(h.scheduler.kv_cache().holds(1));
  h.expect_all_free();
  const Request* done = h.scheduler.find(1);
  ASSERT_NE(done, nullptr);  // readable until the next step
  EXPECT_EQ(done->status(), RequestStatus::kFinishedLength);
  EXPECT_EQ(done->finish_reason(), FinishReason::kLength);
  EXPECT_FALSE(h.scheduler.has_unfinished());
  const SchedulerOutput& next = h.scheduler.schedule();
  EXPECT_EQ(next.finished, (std::vector<RequestId>{1}));
  EXPECT_TRUE(next.empty());
  h.scheduler.update_from_output({});
  EXPECT_EQ(h.scheduler.find(1), nullptr);
}

TEST(Scheduler, AStopTokenFinishesWithReasonStop) {
  Harness h(engine_config(16, 4), 16, 0, 64);
  h.model.stop_token = testing::next_token(tokens(5));
  h.scheduler.add_request(1, tokens(5), max_tokens(8));
  h.step();
  EXPECT_EQ(h.scheduler.find(1)->status(), RequestStatus::kFinishedStopped);
  EXPECT_EQ(h.model.finished.at(1), (std::vector<int32_t>{h.model.stop_token}));
  h.expect_all_free();
}

TEST(Scheduler, AbortFreesEverythingInEveryState) {
  Harness h(engine_config(256, 4, true, 0, /*prefix_caching=*/false), 40, 40, 96);
  // Waiting.
  h.scheduler.add_request(9, tokens(3), max_tokens(2));
  EXPECT_TRUE(h.scheduler.abort(9));
  EXPECT_EQ(h.scheduler.find(9)->status(), RequestStatus::kFinishedAborted);
  EXPECT_FALSE(h.scheduler.has_unfinished());
  EXPECT_FALSE(h.scheduler.abort(9));   // already finished
  EXPECT_FALSE(h.scheduler.abort(99));  // unknown
  EXPECT_EQ(h.scheduler.schedule().finished, (std::vector<RequestId>{9}));
  h.scheduler.update_from_output({});

  // Swapped, and then running.
  add_two_long_requests(h);
  ASSERT_EQ(steps_until_preemption(h), 12);
  ASSERT_EQ(h.scheduler.find(2)->status(), RequestStatus::kSwapped);
  EXPECT_TRUE(h.scheduler.abort(2));
  EXPECT_EQ(h.scheduler.kv_cache().num_free_host_blocks(), 40);
  EXPECT_EQ(h.scheduler.stats().num_swapped, 0);
  EXPECT_TRUE(h.scheduler.abort(1));
  h.expect_all_free();
  EXPECT_FALSE(h.scheduler.has_unfinished());
  h.step();

  // Preempted to recompute.
  Harness p(engine_config(16, 4), 4, 0, 16);
  p.scheduler.add_request(1, tokens(6), max_tokens(10));
  p.scheduler.add_request(2, tokens(6, 40), max_tokens(10));
  for (int i = 0; i < 4; ++i) p.step();
  ASSERT_EQ(p.scheduler.find(2)->status(), RequestStatus::kPreempted);
  EXPECT_TRUE(p.scheduler.abort(2));
  EXPECT_EQ(p.scheduler.stats().num_waiting, 0);
  p.run_to_completion();
  EXPECT_FALSE(p.model.finished.contains(2));
  p.expect_all_free();
}

TEST(Scheduler, AbortBetweenScheduleAndUpdateSkipsTheRequest) {
  Harness h(engine_config(16, 4), 16, 0, 64);
  h.scheduler.add_request(1, tokens(5), max_tokens(4));
  h.scheduler.add_request(2, tokens(5, 20), max_tokens(4));
  h.step();
  const SchedulerOutput& out = h.scheduler.schedule();
  ASSERT_EQ(out.requests.size(), 2u);
  EXPECT_TRUE(h.scheduler.abort(1));
  EXPECT_FALSE(h.scheduler.kv_cache().holds(1));
  h.model.run(out, h.outcomes);
  h.scheduler.update_from_output(h.outcomes);
  EXPECT_EQ(h.scheduler.find(1)->num_output_tokens(), 1);  // the in-flight token was dropped
  EXPECT_EQ(h.scheduler.find(2)->num_output_tokens(), 2);
  const SchedulerOutput& next = h.scheduler.schedule();
  EXPECT_EQ(next.finished, (std::vector<RequestId>{1}));
  EXPECT_EQ(ids_of(next), (std::vector<RequestId>{2}));
  h.model.run(next, h.outcomes);
  h.scheduler.update_from_output(h.outcomes);
  h.run_to_completion();
  EXPECT_FALSE(h.model.finished.contains(1));
  h.expect_all_free();
}

// ---- rejections -------------------------------------------------------------------

TEST(Scheduler, RejectsRequestsThatCanNeverRun) {
  Harness h(engine_config(64, 4), /*num_blocks=*/8, 0, /*max_model_len=*/40);
  using testing::expect_error;
  expect_error([&] { h.scheduler.add_request(1, {}, max_tokens(4)); }, ErrorKind::kInvalidArgument,
               {"request 1: the prompt is empty"});
  expect_error([&] { h.scheduler.add_request(1, tokens(3), max_tokens(0)); },
               ErrorKind::kInvalidArgument, {"request 1: max_tokens must be >= 1, got 0"});
  expect_error([&] { h.scheduler.add_request(1, tokens(41), max_tokens(1)); },
               ErrorKind::kInvalidArgument,
               {"request 1: the prompt has 41 tokens, more than engine.max_model_len (40)"});
  expect_error([&] { h.scheduler.add_request(1, tokens(30), max_tokens(11)); },
               ErrorKind::kInvalidArgument,
               {"the prompt's 30 tokens plus max_tokens 11 make 41 tokens",
                "engine.max_model_len (40)", "max_tokens can be at most 10"});
  expect_error([&] { h.scheduler.add_request(1, tokens(30), max_tokens(3)); },
               ErrorKind::kInvalidArgument,
               {"request 1: its 33 tokens (prompt plus max_tokens) need 9 KV blocks of 4 tokens",
                "more than the whole cache holds (8 blocks)"});
  h.scheduler.add_request(1, tokens(30), max_tokens(2));
  expect_error([&] { h.scheduler.add_request(1, tokens(3), max_tokens(2)); },
               ErrorKind::kInvalidArgument, {"request 1: the id is already in use"});
  EXPECT_EQ(h.scheduler.stats().num_waiting, 1);
  h.run_to_completion();
  h.expect_all_free();
}

TEST(SchedulerDeathTest, TheEngineMustStopARequestAtMaxTokens) {
  Harness h(engine_config(16, 4), 16, 0, 64);
  h.scheduler.add_request(1, tokens(3), max_tokens(1));
  const SchedulerOutput& out = h.scheduler.schedule();
  std::vector<StepOutcome> outcomes(out.requests.size());
  outcomes[0].token = 5;  // sampled, but not finished
  EXPECT_DEATH(h.scheduler.update_from_output(outcomes), "max_tokens");
}

}  // namespace
}  // namespace localmoe
