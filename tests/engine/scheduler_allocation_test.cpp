// A steady-state scheduler step must not touch the heap: this binary replaces
// the global operator new with a counting one and runs schedule + update
// cycles of decoding requests between two readings, across block boundaries
// (new blocks, full blocks entering the prefix cache) included.

#include <gtest/gtest.h>

#include <vector>

#include "localmoe/engine/scheduler.h"
#include "test_support/counting_new.h"

namespace localmoe {
namespace {

// One scheduler step with a made-up token per sampling request; `outcomes`
// keeps its capacity from step to step.
void step(Scheduler& scheduler, std::vector<StepOutcome>& outcomes) {
  const SchedulerOutput& out = scheduler.schedule();
  outcomes.clear();
  for (const ScheduledRequest& s : out.requests) {
    StepOutcome o;
    if (s.samples) o.token = static_cast<int32_t>(s.request->num_tokens() % 991 + 1);
    outcomes.push_back(o);
  }
  scheduler.update_from_output(outcomes);
}

void expect_decode_allocates_nothing(bool prefix_caching, int64_t num_host_blocks) {
  EngineConfig config;
  config.block_size = 4;
  config.max_num_seqs = 8;
  config.max_num_batched_tokens = 64;
  config.enable_prefix_caching = prefix_caching;
  Allocator allocator;
  const KvCacheCapacity capacity{/*num_blocks=*/256, num_host_blocks, /*block_size=*/4,
                                 /*bytes_per_block=*/64};
  Scheduler scheduler(config, capacity, /*max_model_len=*/512, allocator);
  SamplingParams params;
  params.max_tokens = 400;
  for (RequestId id = 1; id <= 8; ++id) {
    std::vector<int32_t> prompt(10, static_cast<int32_t>(id));
    scheduler.add_request(id, prompt, params);
  }
  std::vector<StepOutcome> outcomes;
  outcomes.reserve(8);
  for (int i = 0; i < 3; ++i) step(scheduler, outcomes);  // prefills, first decodes
  ASSERT_EQ(scheduler.stats().num_running, 8);

  const int64_t generated = scheduler.stats().num_generated_tokens;
  const int64_t before = test::heap_allocations();
  ASSERT_GT(before, 0) << "the counting operator new is not in use";
  for (int i = 0; i < 64; ++i) step(scheduler, outcomes);  // 16 block boundaries each
  EXPECT_EQ(test::heap_allocations() - before, 0);
  EXPECT_EQ(scheduler.stats().num_generated_tokens - generated, 8 * 64);
  EXPECT_EQ(scheduler.stats().num_preemptions, 0);
  for (RequestId id = 1; id <= 8; ++id) EXPECT_TRUE(scheduler.abort(id));
  EXPECT_EQ(scheduler.kv_cache().num_free_blocks(), 256);
}

TEST(SchedulerAllocation, DecodeStepsAllocateNothingWithPrefixCaching) {
  expect_decode_allocates_nothing(/*prefix_caching=*/true, /*num_host_blocks=*/0);
}

TEST(SchedulerAllocation, DecodeStepsAllocateNothingWithoutPrefixCaching) {
  expect_decode_allocates_nothing(/*prefix_caching=*/false, /*num_host_blocks=*/16);
}

}  // namespace
}  // namespace localmoe
