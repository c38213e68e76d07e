// Decode must not touch the heap: this binary replaces the global operator
// new with a counting one and runs forward passes between two readings.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "localmoe/engine/sampler.h"
#include "localmoe/engine/sequence_runner.h"
#include "localmoe/model/model_loader.h"
#include "test_support/counting_new.h"
#include "test_support/fixture_models.h"

namespace localmoe {
namespace {

TEST(DecodeAllocation, ForwardAndSamplingAllocateNothing) {
  for (const char* name : {"llama_bf16", "mistral_f32", "gpt2_f32"}) {
    const std::string dir = model_dir(name);
    Allocator allocator;
    ThreadPool pool(2);
    const kernels::Kernels kernels = kernels::Kernels::select("best");
    const auto model = load_transformer(dir, 16, /*block_size=*/4, kernels, allocator, pool);
    SequenceRunner sequence(*model, 64, DType::kF32, allocator);
    SamplingParams params;
    params.seed = 1;
    params.top_p = 0.9f;
    Sampler sampler(params, model->config().vocab_size, kernels);
    std::vector<float> logits(model->config().vocab_size);
    const std::vector<int32_t> prompt = {1, 5, 9, 13};
    sequence.append(prompt, LogitsFor::kLastToken, logits.data());

    const int64_t before = test::heap_allocations();
    ASSERT_GT(before, 0) << "the counting operator new is not in use";
    for (int step = 0; step < 32; ++step) {
      const int32_t token = sampler.sample(logits.data());
      sequence.append({&token, 1}, LogitsFor::kLastToken, logits.data());
    }
    EXPECT_EQ(test::heap_allocations() - before, 0) << name;
  }
}

}  // namespace
}  // namespace localmoe
