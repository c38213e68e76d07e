// Deltas folded into whole answers (Completion), and many requests through
// one engine on the calling thread (OfflineBatch), in the order they were added.

#include "localmoe/engine/offline_batch.h"

#include <gtest/gtest.h>

#include "localmoe/kernels/kernels.h"
#include "localmoe/model/model_loader.h"
#include "test_support/fixture_models.h"

namespace localmoe {
namespace {

TEST(Completion, FoldsTheDeltasOfEveryChoice) {
  Completion c(7, 2);
  RequestOutput a;
  a.id = 7;
  a.index = 1;
  a.token_ids = {4, 5};
  a.text = "he";
  a.usage.prompt_tokens = 3;
  c.add(std::move(a));
  RequestOutput b;
  b.id = 7;
  b.index = 0;
  b.token_ids = {9};
  b.text = "x";
  b.finish_reason = FinishReason::kLength;
  b.usage.prompt_tokens = 3;
  b.timings.finished = 0.5;
  c.add(std::move(b));
  EXPECT_FALSE(c.finished());
  RequestOutput d;
  d.id = 7;
  d.index = 1;
  d.token_ids = {6};
  d.text = "y";
  d.finish_reason = FinishReason::kStop;
  d.stop_string = "!";
  c.add(std::move(d));
  EXPECT_TRUE(c.finished());
  EXPECT_EQ(c.choices[1].token_ids, (std::vector<int32_t>{4, 5, 6}));
  EXPECT_EQ(c.choices[1].text, "hey");
  EXPECT_EQ(c.choices[1].stop_string, "!");
  EXPECT_EQ(c.choices[0].finish_reason, FinishReason::kLength);
  EXPECT_DOUBLE_EQ(c.choices[0].timings.finished, 0.5);
  EXPECT_EQ(c.prompt_tokens, 3);
  EXPECT_EQ(c.completion_tokens, 4);
}

TEST(OfflineBatch, EveryRequestFinishesInItsPlace) {
  const std::string dir = model_dir("mixtral_f32");
  const kernels::Kernels kernels = kernels::Kernels::select("best");
  Allocator allocator;
  ThreadPool pool(2);
  const auto model = load_transformer(dir, 16, /*block_size=*/4, kernels, allocator, pool);
  EngineConfig config;
  config.block_size = 4;
  config.max_num_batched_tokens = 16;
  config.max_num_seqs = 3;  // fewer than the requests: some wait their turn
  const KvCacheCapacity capacity{64, 0, 4, model->kv_layout(DType::kF32).bytes_per_block()};
  Engine engine(*model, nullptr, config, capacity, DType::kF32,
                model->config().max_position_embeddings, allocator);
  const std::vector<int32_t> prompt = expected_ints(dir, "input_ids");
  const std::vector<int32_t> oracle = expected_ints(dir, "greedy_ids");
  OfflineBatch batch(engine);
  SamplingParams greedy;
  greedy.temperature = 0.0f;
  greedy.ignore_eos = true;
  for (int i = 0; i < 7; ++i) {
    greedy.max_tokens = i % 2 == 0 ? static_cast<int64_t>(oracle.size()) : 3 + i;
    EXPECT_EQ(batch.add(prompt, greedy), static_cast<size_t>(i));
  }
  int64_t steps = 0;
  batch.run([&](const OfflineBatch&) { ++steps; });
  EXPECT_GT(steps, 0);
  EXPECT_EQ(batch.num_finished(), 7);
  int64_t tokens = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    const CompletionChoice& c = batch.completion(i).choices[0];
    if (i % 2 == 0) {
      EXPECT_EQ(c.token_ids, oracle) << i;
    } else {
      EXPECT_EQ(c.token_ids.size(), 3 + i) << i;
      EXPECT_EQ(c.finish_reason, FinishReason::kLength);
    }
    EXPECT_GE(c.timings.first_token, c.timings.queued);
    EXPECT_GE(c.timings.finished, c.timings.first_token);
    tokens += static_cast<int64_t>(c.token_ids.size());
  }
  EXPECT_EQ(batch.num_generated_tokens(), tokens);
}

}  // namespace
}  // namespace localmoe
