// Decode must not touch the heap: this binary replaces the global operator
// new with a counting one and runs forward passes between two readings.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "localmoe/engine/sampler.h"
#include "localmoe/engine/sequence_runner.h"
#include "localmoe/model/model_loader.h"
#include "test_support/fixture_models.h"

namespace {
std::atomic<int64_t> g_allocations{0};
}  // namespace

void* operator new(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}

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

    const int64_t before = g_allocations.load();
    ASSERT_GT(before, 0) << "the counting operator new is not in use";
    for (int step = 0; step < 32; ++step) {
      const int32_t token = sampler.sample(logits.data());
      sequence.append({&token, 1}, LogitsFor::kLastToken, logits.data());
    }
    EXPECT_EQ(g_allocations.load() - before, 0) << name;
  }
}

}  // namespace
}  // namespace localmoe
