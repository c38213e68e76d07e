// Decode must not touch the heap: this binary replaces the global operator
// new with a counting one and runs decode steps between two readings — one
// sequence (forward + sampling), and the engine's batched step (Scheduler ->
// ModelRunner -> Sampler -> StopChecker -> update_from_output) with eight
// sequences decoding at once across block boundaries. Handing each step's
// tokens to the request's OutputStream is the consumer's side and not
// counted.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "localmoe/engine/model_runner.h"
#include "localmoe/engine/sampler.h"
#include "localmoe/engine/scheduler.h"
#include "localmoe/engine/sequence_runner.h"
#include "localmoe/engine/stop_checker.h"
#include "localmoe/model/model_loader.h"
#include "test_support/counting_new.h"
#include "test_support/fixture_models.h"

namespace localmoe {
namespace {

SamplingParams nucleus_sampling(uint64_t seed) {
  SamplingParams params;
  params.seed = seed;
  params.top_p = 0.9f;
  params.max_tokens = 64;
  params.ignore_eos = true;
  return params;
}

TEST(DecodeAllocation, ForwardAndSamplingAllocateNothing) {
  for (const char* name : {"llama_bf16", "mistral_f32", "gpt2_f32"}) {
    const std::string dir = model_dir(name);
    Allocator allocator;
    ThreadPool pool(2);
    const kernels::Kernels kernels = kernels::Kernels::select("best");
    const auto model = load_transformer(dir, 16, /*block_size=*/4, kernels, allocator, pool);
    SequenceRunner sequence(*model, 64, DType::kF32, allocator);
    Sampler sampler(kernels, model->config().vocab_size);
    const std::vector<int32_t> prompt = {1, 5, 9, 13};
    SamplingState state(nucleus_sampling(1), prompt, model->config().eos_token_ids, 0);
    std::vector<float> logits(model->config().vocab_size);
    sequence.append(prompt, LogitsFor::kLastToken, logits.data());

    const int64_t before = test::heap_allocations();
    ASSERT_GT(before, 0) << "the counting operator new is not in use";
    for (int step = 0; step < 32; ++step) {
      const int32_t token = sampler.sample(logits.data(), state).token_id;
      sequence.append({&token, 1}, LogitsFor::kLastToken, logits.data());
    }
    EXPECT_EQ(test::heap_allocations() - before, 0) << name;
  }
}

TEST(DecodeAllocation, BatchedEngineStepsAllocateNothing) {
  constexpr int64_t kSequences = 8;
  constexpr int64_t kBlockSize = 4;
  constexpr int64_t kBlocks = 128;
  for (const char* name : {"llama_bf16", "mixtral_f32"}) {
    const std::string dir = model_dir(name);
    Allocator allocator;
    ThreadPool pool(2);
    const kernels::Kernels kernels = kernels::Kernels::select("best");
    const auto model = load_transformer(dir, 32, kBlockSize, kernels, allocator, pool);
    const ModelConfig& mc = model->config();
    EngineConfig config;
    config.block_size = kBlockSize;
    config.max_num_seqs = kSequences;
    config.max_num_batched_tokens = 32;
    const KvCacheLayout layout = model->kv_layout(DType::kF32);
    const KvCacheCapacity capacity{kBlocks, 0, kBlockSize, layout.bytes_per_block()};
    KvStorage kv(layout, kBlocks, 0, allocator);
    Scheduler scheduler(config, capacity, mc.max_position_embeddings, allocator);
    ModelRunner runner(*model, kv, kSequences, mc.max_position_embeddings);
    Sampler sampler(kernels, mc.vocab_size);
    std::vector<SamplingState> states;
    std::vector<StopChecker> stops;
    for (int64_t i = 0; i < kSequences; ++i) {
      // Prompts of 3 to 10 tokens: the sequences cross block boundaries at
      // different steps.
      std::vector<int32_t> prompt(static_cast<size_t>(3 + i));
      for (size_t j = 0; j < prompt.size(); ++j) {
        prompt[j] = static_cast<int32_t>((5 * i + 3 * static_cast<int64_t>(j)) % 90 + 1);
      }
      const SamplingParams params = nucleus_sampling(static_cast<uint64_t>(i));
      scheduler.add_request(static_cast<RequestId>(i + 1), prompt, params);
      states.emplace_back(params, prompt, mc.eos_token_ids, 0);
      stops.emplace_back(params, nullptr, mc.eos_token_ids, params.max_tokens);
    }
    std::vector<StepOutcome> outcomes;
    outcomes.reserve(kSequences);
    const auto step = [&] {
      const SchedulerOutput& out = scheduler.schedule();
      runner.execute(out);
      outcomes.clear();
      for (size_t i = 0; i < out.requests.size(); ++i) {
        const ScheduledRequest& s = out.requests[i];
        StepOutcome outcome;
        if (s.samples) {
          const size_t seq = static_cast<size_t>(s.id - 1);
          const int32_t token = sampler.sample(runner.sample_row(i), states[seq]).token_id;
          outcome.token = token;
          if (const auto finish = stops[seq].add(token).finish) outcome.finish = finish->reason;
        }
        outcomes.push_back(outcome);
      }
      scheduler.update_from_output(outcomes);
    };
    for (int i = 0; i < 4; ++i) step();  // prefills and first decodes
    ASSERT_EQ(scheduler.stats().num_running, kSequences) << name;

    const int64_t generated = scheduler.stats().num_generated_tokens;
    const int64_t before = test::heap_allocations();
    for (int i = 0; i < 24; ++i) step();
    EXPECT_EQ(test::heap_allocations() - before, 0) << name;
    EXPECT_EQ(scheduler.stats().num_generated_tokens - generated, kSequences * 24) << name;
  }
}

}  // namespace
}  // namespace localmoe
