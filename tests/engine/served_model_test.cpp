// A served model built from a configuration: the KV cache from the memory
// budget, the figures adding up, and the errors naming the keys.

#include "localmoe/engine/served_model.h"

#include <gtest/gtest.h>

#include "loader/expect_error.h"
#include "localmoe/engine/offline_batch.h"
#include "test_support/fixture_models.h"

namespace localmoe {
namespace {

Config fixture_config(const char* name) {
  Config config;
  config.engine.model_name = model_dir(name);
  config.engine.block_size = 8;
  config.engine.max_num_batched_tokens = 64;
  config.engine.max_num_seqs = 4;
  config.engine.swap_space = 0.0;
  return config;
}

TEST(ServedModel, TheBudgetSizesTheKvCacheAndTheFiguresAddUp) {
  const kernels::Kernels kernels = kernels::Kernels::select("best");
  ThreadPool pool(1);
  Config config = fixture_config("llama_f32");
  // 0.01 GiB: the tiny model's weights and workspace leave most of it.
  config.gpu.memory_limit_gb = 0.01;
  config.engine.max_num_seqs = 1024;  // no cap from the sequences
  config.engine.max_num_batched_tokens = 1024;
  const ServedModel served(config, kernels, pool);
  const ServedModelMemory& m = served.memory();
  EXPECT_EQ(m.budget, static_cast<int64_t>(0.01 * 0.9 * 1024 * 1024 * 1024));
  EXPECT_GT(m.weights, 0);
  EXPECT_GT(m.workspace, 0);
  EXPECT_EQ(m.kv_cache, m.kv_blocks * m.kv_block_bytes);
  EXPECT_LE(m.weights + m.workspace + m.kv_cache, m.budget);
  // Whole blocks: one more would not have fitted beside the model's workspace.
  EXPECT_GT(m.weights + m.workspace + m.kv_cache + 2 * m.kv_block_bytes, m.budget);
  EXPECT_EQ(served.kv_cache_dtype(), DType::kF32);
  EXPECT_EQ(served.kv_capacity().block_size, 8);
  EXPECT_EQ(served.engine().max_model_len(), 128);
  EXPECT_EQ(served.tokenizer(), nullptr);  // the fixture has none
}

TEST(ServedModel, BlocksAreCappedByWhatTheSequencesCanUseOrSetExplicitly) {
  const kernels::Kernels kernels = kernels::Kernels::select("best");
  ThreadPool pool(1);
  Config config = fixture_config("gpt2_f32");
  config.engine.kv_cache_dtype = KvCacheDtype::kBf16;
  {
    const ServedModel served(config, kernels, pool);
    // 4 sequences x 128 positions / 8 = 64 blocks, 4 times over.
    EXPECT_EQ(served.kv_capacity().num_blocks, kKvSequencesPerSlot * 4 * 16);
    EXPECT_EQ(served.kv_cache_dtype(), DType::kBF16);
  }
  config.engine.num_gpu_blocks_override = 20;
  const ServedModel served(config, kernels, pool);
  EXPECT_EQ(served.kv_capacity().num_blocks, 20);
  // And it serves.
  OfflineBatch batch(const_cast<ServedModel&>(served).engine());
  SamplingParams p;
  p.temperature = 0.0f;
  p.max_tokens = 5;
  p.ignore_eos = true;
  batch.add(expected_ints(model_dir("gpt2_f32"), "input_ids"), p);
  batch.run();
  EXPECT_EQ(batch.completion(0).choices[0].token_ids.size(), 5u);
}

TEST(ServedModel, ErrorsNameTheKey) {
  const kernels::Kernels kernels = kernels::Kernels::select("best");
  ThreadPool pool(1);
  Config long_context = fixture_config("llama_f32");
  long_context.engine.max_model_len = 4096;
  testing::expect_error([&] { ServedModel served(long_context, kernels, pool); },
                        ErrorKind::kInvalidArgument,
                        {"engine.max_model_len 4096 exceeds the model's context of 128 tokens"});
  Config fp8 = fixture_config("llama_f32");
  fp8.engine.kv_cache_dtype = KvCacheDtype::kFp8E4M3;
  testing::expect_error([&] { ServedModel served(fp8, kernels, pool); }, ErrorKind::kUnsupported,
                        {"engine.kv_cache_dtype: F8_E4M3 KV blocks are not supported yet"});
  Config tiny = fixture_config("llama_f32");
  tiny.gpu.memory_limit_gb = 0.0001;
  testing::expect_error([&] { ServedModel served(tiny, kernels, pool); },
                        ErrorKind::kInvalidArgument, {"no memory is left for the KV cache"});
}

}  // namespace
}  // namespace localmoe
