#include "localmoe/engine/generator.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "localmoe/base/error.h"
#include "localmoe/config/hf_config.h"
#include "localmoe/kernels/kernels.h"
#include "localmoe/loader/checkpoint.h"
#include "localmoe/model/model_loader.h"
#include "test_support/fixture_models.h"

namespace localmoe {
namespace {

const kernels::Kernels& test_kernels() {
  static const kernels::Kernels kernels = kernels::Kernels::select("best");
  return kernels;
}

TEST(Generator, GreedyWithSmallPrefillChunksMatchesTheOracle) {
  const std::string dir = model_dir("mistral_bf16");
  Allocator allocator;
  ThreadPool pool(2);
  // Chunks of 5 tokens: the 12-token prompt takes three forward passes.
  const auto model = load_transformer(dir, 5, /*block_size=*/4, test_kernels(), allocator, pool);
  Generator generator(*model, allocator);
  SamplingParams params;
  params.temperature = 0.0f;
  params.max_tokens = 32;
  params.ignore_eos = true;
  const GenerationResult result = generator.generate(expected_ints(dir, "input_ids"), params);
  EXPECT_EQ(result.token_ids, expected_ints(dir, "greedy_ids"));
  EXPECT_EQ(result.finish_reason, "length");
  EXPECT_EQ(result.prompt_tokens, 12);
  EXPECT_GT(result.decode_tokens_per_second(), 0.0);
}

TEST(Generator, StopsAtEndOfSequence) {
  const std::string dir = model_dir("llama_f32");
  const std::vector<int32_t> greedy = expected_ints(dir, "greedy_ids");
  ModelConfig config = load_hf_config(dir);
  config.eos_token_ids = {greedy[3]};
  Allocator allocator;
  ThreadPool pool(1);
  Transformer model(config, open_checkpoint(dir), 16, /*block_size=*/4, test_kernels(), allocator,
                    pool);
  Generator generator(model, allocator);
  SamplingParams params;
  params.temperature = 0.0f;
  params.max_tokens = 32;
  const GenerationResult result = generator.generate(expected_ints(dir, "input_ids"), params);
  EXPECT_EQ(result.finish_reason, "stop");
  // The first occurrence of the stop token ends generation, and is returned.
  const auto first = std::find(greedy.begin(), greedy.end(), greedy[3]);
  EXPECT_EQ(result.token_ids, std::vector<int32_t>(greedy.begin(), first + 1));
}

TEST(Generator, RejectsBadPrompts) {
  Allocator allocator;
  ThreadPool pool(1);
  const auto model = load_transformer(model_dir("gpt2_f32"), 16, /*block_size=*/4, test_kernels(),
                                      allocator, pool);
  Generator generator(*model, allocator);
  SamplingParams params;
  EXPECT_THROW(generator.generate({}, params), Error);
  const std::vector<int32_t> outside = {1, 96};
  try {
    generator.generate(outside, params);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("outside the vocabulary"), std::string::npos);
  }
  const std::vector<int32_t> too_long(128, 5);
  EXPECT_THROW(generator.generate(too_long, params), Error);
}

TEST(Generator, StopsAtTheContextLength) {
  Allocator allocator;
  ThreadPool pool(1);
  const auto model = load_transformer(model_dir("gpt2_f32"), 16, /*block_size=*/4, test_kernels(),
                                      allocator, pool);
  Generator generator(*model, allocator);
  SamplingParams params;
  params.temperature = 0.0f;
  params.max_tokens = 100;
  params.ignore_eos = true;
  const std::vector<int32_t> prompt(120, 5);
  const GenerationResult result = generator.generate(prompt, params);
  EXPECT_EQ(result.token_ids.size(), 8u);  // 128 positions - 120 prompt tokens
  EXPECT_EQ(result.finish_reason, "length");
}

}  // namespace
}  // namespace localmoe
