#include "localmoe/kv/kv_cache_budget.h"

#include <gtest/gtest.h>

#include <cstdint>

#include "loader/expect_error.h"

namespace localmoe {
namespace {

constexpr int64_t kGiB = int64_t{1} << 30;

// Llama-2-7B's attention: 32 layers, 32 KV heads of 128, f16, 16-token blocks:
// 2 x 32 x 32 x 128 x 2 = 524288 bytes per token, 8388608 per block.
KvCacheLayout llama7b() {
  return KvCacheLayout{32, 32, 128, 16, DType::kF16};
}

// One 48 GiB device at 0.9: floor(48 x 2^30 x 0.9) = 46385646796 bytes usable.
KvCacheBudget l40s(int64_t max_model_len = 4096) {
  KvCacheBudget b;
  b.device_memory_bytes = 48 * kGiB;
  b.memory_utilization = 0.9;
  b.weight_bytes = 14495514624;  // 13.5 GiB
  b.workspace_bytes = kGiB;
  b.swap_space_gib = 4.0;
  b.max_model_len = max_model_len;
  return b;
}

TEST(KvCacheBudget, BlocksAreWhatTheWeightsAndWorkspaceLeave) {
  // 46385646796 - 14495514624 - 1073741824 = 30816390348 bytes; / 8388608 = 3673.6.
  const KvCacheCapacity c = plan_kv_cache(llama7b(), l40s());
  EXPECT_EQ(c.bytes_per_block, 8388608);
  EXPECT_EQ(c.num_blocks, 3673);
  EXPECT_EQ(c.num_tokens(), 58768);
  EXPECT_EQ(c.device_bytes(), int64_t{3673} * 8388608);
  // 4 GiB / 8 MiB.
  EXPECT_EQ(c.num_host_blocks, 512);
  EXPECT_EQ(c.host_bytes(), 4 * kGiB);
  EXPECT_EQ(c.block_size, 16);
}

TEST(KvCacheBudget, BlocksBeyondWhatTheSequencesCanFillAreNotAllocated) {
  // 2 sequences of 4096 tokens = 512 blocks; 4 x that is 2048 < 3673.
  KvCacheBudget b = l40s();
  b.max_num_seqs = 2;
  EXPECT_EQ(plan_kv_cache(llama7b(), b).num_blocks, kKvSequencesPerSlot * 2 * 256);
  b.max_num_seqs = 8;  // 8192 blocks would fit the sequences: the budget decides
  EXPECT_EQ(plan_kv_cache(llama7b(), b).num_blocks, 3673);
  // An explicit count is taken as given.
  b.max_num_seqs = 2;
  b.num_blocks = 3000;
  EXPECT_EQ(plan_kv_cache(llama7b(), b).num_blocks, 3000);
}

TEST(KvCacheBudget, FromConfigReadsTheLimitOrTheDevicesOwnSize) {
  GpuConfig gpu;
  gpu.memory_limit_gb = 48.0;
  EngineConfig engine;
  engine.gpu_memory_utilization = 0.9;
  engine.swap_space = 4.0;
  const KvCacheBudget b =
      KvCacheBudget::from_config(gpu, engine, /*device_own_bytes=*/8 * kGiB, 14495514624, kGiB,
                                 /*max_model_len=*/4096);
  EXPECT_EQ(b.device_memory_bytes, 48 * kGiB);
  EXPECT_EQ(plan_kv_cache(llama7b(), b).num_blocks, 3673);
  gpu.memory_limit_gb = 0.0;
  EXPECT_EQ(KvCacheBudget::from_config(gpu, engine, 8 * kGiB, 0, 0, 4096).device_memory_bytes,
            8 * kGiB);
  // An explicit block count replaces the byte budget.
  engine.num_gpu_blocks_override = 300;
  const KvCacheBudget fixed = KvCacheBudget::from_config(gpu, engine, 8 * kGiB, 0, 0, 4096);
  EXPECT_EQ(plan_kv_cache(llama7b(), fixed).num_blocks, 300);
}

TEST(KvCacheBudget, WeightsAboveTheBudgetNameTheFiguresAndTheKeys) {
  KvCacheBudget b = l40s();
  b.weight_bytes = 46 * kGiB;
  testing::expect_error(
      [&] { plan_kv_cache(llama7b(), b); }, ErrorKind::kInvalidArgument,
      {"no memory is left for the KV cache", "43.20 GiB", "51539607552 bytes",
       "gpu_memory_utilization 0.9", "46.00 GiB of weights", "1.00 GiB of workspace",
       "leaves -4080218932 bytes", "one block (8388608 bytes)", "gpu.memory_limit_gb",
       "engine.gpu_memory_utilization", "engine.quantization"});
  // Less than one block left is the same error.
  b.weight_bytes = 46385646796 - kGiB - 8388607;
  testing::expect_error([&] { plan_kv_cache(llama7b(), b); }, ErrorKind::kInvalidArgument,
                        {"leaves 8388607 bytes"});
  b.weight_bytes -= 1;
  b.max_model_len = 16;
  EXPECT_EQ(plan_kv_cache(llama7b(), b).num_blocks, 1);
}

TEST(KvCacheBudget, ACacheShorterThanOneSequenceNamesMaxModelLen) {
  // 65536 tokens need 4096 blocks; 3673 fit.
  testing::expect_error([&] { plan_kv_cache(llama7b(), l40s(65536)); }, ErrorKind::kInvalidArgument,
                        {"holds 3673 blocks of 16 tokens (58768 tokens, 28.70 GiB)",
                         "engine.max_model_len sequence of 65536 tokens", "4096 blocks, 32.00 GiB",
                         "lower engine.max_model_len", "engine.kv_cache_dtype"});
  EXPECT_EQ(plan_kv_cache(llama7b(), l40s(58768)).num_blocks, 3673);
  testing::expect_error([&] { plan_kv_cache(llama7b(), l40s(58769)); }, ErrorKind::kInvalidArgument,
                        {"3674 blocks"});
}

TEST(KvCacheBudget, AnExplicitBlockCountReplacesTheByteBudget) {
  KvCacheBudget b = l40s(1600);
  b.num_blocks = 100;
  b.swap_space_gib = 0.0;
  const KvCacheCapacity c = plan_kv_cache(llama7b(), b);
  EXPECT_EQ(c.num_blocks, 100);
  EXPECT_EQ(c.num_host_blocks, 0);
  b.max_model_len = 1601;
  testing::expect_error([&] { plan_kv_cache(llama7b(), b); }, ErrorKind::kInvalidArgument,
                        {"holds 100 blocks", "1601 tokens needs (101 blocks"});
  b.num_blocks = 0;
  testing::expect_error([&] { plan_kv_cache(llama7b(), b); }, ErrorKind::kInvalidArgument,
                        {"at least 1 block, got 0"});
}

TEST(KvCacheBudget, SwapSpaceIsRoundedDownToWholeBlocks) {
  KvCacheBudget b = l40s();
  b.swap_space_gib = 0.01;  // 10737418 bytes: one 8 MiB block
  EXPECT_EQ(plan_kv_cache(llama7b(), b).num_host_blocks, 1);
  b.swap_space_gib = -1.0;
  testing::expect_error([&] { plan_kv_cache(llama7b(), b); }, ErrorKind::kInvalidArgument,
                        {"engine.swap_space must be >= 0 GiB, got -1"});
}

TEST(KvCacheBudget, ResolvesTheConfiguredDtype) {
  EXPECT_EQ(resolve_kv_cache_dtype(KvCacheDtype::kAuto, DType::kF32), DType::kF32);
  EXPECT_EQ(resolve_kv_cache_dtype(KvCacheDtype::kAuto, DType::kBF16), DType::kBF16);
  EXPECT_EQ(resolve_kv_cache_dtype(KvCacheDtype::kFp16, DType::kF32), DType::kF16);
  EXPECT_EQ(resolve_kv_cache_dtype(KvCacheDtype::kBf16, DType::kF32), DType::kBF16);
  EXPECT_EQ(resolve_kv_cache_dtype(KvCacheDtype::kFp8E4M3, DType::kF32), DType::kF8E4M3);
  EXPECT_EQ(resolve_kv_cache_dtype(KvCacheDtype::kFp8E5M2, DType::kF32), DType::kF8E5M2);
}

}  // namespace
}  // namespace localmoe
