// The memory model against numbers worked out by hand in each test (and,
// where they exist, published parameter counts and file sizes).

#include "localmoe/config/memory_model.h"

#include <gtest/gtest.h>

#include "config/config_test_util.h"
#include "localmoe/config/hardware.h"
#include "localmoe/config/roofline.h"

namespace localmoe {
namespace {

using testing::kGiB;
using testing::kMiB;

ModelSpec catalog(const char* id) {
  std::optional<ModelSpec> spec = find_catalog_model(id);
  EXPECT_TRUE(spec.has_value()) << id;
  return *spec;
}

// Parameter counts as the models' publishers and `model.num_parameters()` report them.
TEST(MemoryModel, ParameterCountsMatchPublishedFigures) {
  EXPECT_EQ(weight_bytes(catalog("meta-llama/Llama-2-7b-chat-hf").arch, {}, 1).parameters,
            6'738'415'616);
  EXPECT_EQ(weight_bytes(catalog("meta-llama/Llama-2-70b-chat-hf").arch, {}, 1).parameters,
            68'976'648'192);
  EXPECT_EQ(weight_bytes(catalog("mistralai/Mixtral-8x7B-Instruct-v0.1").arch, {}, 1).parameters,
            46'702'792'704);
  EXPECT_EQ(weight_bytes(catalog("microsoft/DialoGPT-medium").arch, {}, 1).parameters, 354'823'168);
  EXPECT_EQ(weight_bytes(catalog("mistralai/Mistral-7B-Instruct-v0.2").arch, {}, 1).parameters,
            7'241'732'096);
}

// The seeds claim that without quantization 4x L40S hold at most a 30B model.
// Worked by hand: Llama-2-70B in FP16 fits at their own 0.85 utilization.
TEST(MemoryModel, Llama70bFp16FitsFourL40sAtSeedsUtilization) {
  const HardwareSpec l40s = *find_hardware("l40s");
  MemoryRequest r;
  r.model = catalog("llama-2-70b").arch;
  r.tensor_parallel_size = 4;
  r.max_model_len = 4096;
  r.block_size = 16;
  r.max_num_batched_tokens = 8192;
  r.max_num_seqs = 256;
  r.device_memory_bytes = l40s.memory_bytes;
  r.memory_utilization = 0.85;
  r.runtime_overhead_bytes = l40s.runtime_overhead_bytes;
  const MemoryEstimate e = estimate_memory(r);

  // V = 32000, H = 8192, I = 28672, 80 layers, 64 heads and 8 KV heads of 128; tp = 4.
  const int64_t V = 32000, H = 8192, I = 28672, L = 80, q = 8192 / 4, kv = 8 / 4 * 128, i = I / 4;
  const int64_t per_layer = H * q + 2 * H * kv + q * H  // q, k, v, o
                            + 2 * H * i + i * H         // gate, up, down
                            + 2 * H;                    // two RMSNorm weights
  const int64_t weights =
      2 * (2 * (V / 4) * H + L * per_layer + H);  // 16-bit; embed + lm_head vocab-split
  EXPECT_EQ(weights, 34'490'302'464);             // 32.12 GiB per GPU
  EXPECT_EQ(e.weights.per_device, weights);

  const int64_t activations =
      8192 * (2 * H + q + 2 * kv + q + 2 * i) * 2  // 16-bit, widest point of a layer
      + 256 * V * 4;                               // float32 logits per sequence
  EXPECT_EQ(e.activation_bytes, activations);
  const int64_t budget =
      static_cast<int64_t>(0.85 * 46068.0 * kMiB);  // nvidia-smi's 46068 MiB, ECC on
  EXPECT_EQ(e.budget_bytes, budget);
  const int64_t kv_left = budget - weights - activations - kGiB;  // 1 GiB CUDA context + workspaces
  EXPECT_EQ(e.kv_bytes, kv_left);
  const int64_t kv_per_token = 2 * L * (8 / 4) * 128 * 2;  // K and V, 16-bit, per GPU
  EXPECT_EQ(e.kv_bytes_per_token, kv_per_token);
  const int64_t blocks = kv_left / (kv_per_token * 16);
  EXPECT_EQ(e.kv_blocks, blocks);
  EXPECT_EQ(e.kv_capacity_tokens, blocks * 16);
  EXPECT_EQ(e.kv_capacity_tokens, 59'616);
  EXPECT_EQ(e.kv_capacity_sequences, blocks / (4096 / 16));
  EXPECT_EQ(e.kv_capacity_sequences, 14);
  EXPECT_TRUE(e.fits);
}

// Mixtral-8x7B in 16-bit does not fit 2x L40S, not even at utilization 1.0;
// FP8 weights do, at the seeds' 0.85.
TEST(MemoryModel, Mixtral16BitDoesNotFitTwoL40s) {
  const HardwareSpec l40s = *find_hardware("l40s");
  MemoryRequest r;
  r.model = catalog("mixtral-8x7b").arch;
  r.tensor_parallel_size = 2;
  r.max_model_len = 4096;
  r.device_memory_bytes = l40s.memory_bytes;
  r.runtime_overhead_bytes = l40s.runtime_overhead_bytes;
  r.memory_utilization = 1.0;

  const int64_t V = 32000, H = 4096, L = 32, E = 8, q = 4096 / 2, kv = 8 / 2 * 128, i = 14336 / 2;
  const int64_t per_layer =
      2 * H * q + 2 * H * kv + E * 3 * H * i + H * E + 2 * H;  // attn, experts, router, norms
  const int64_t weights = 2 * (2 * (V / 2) * H + L * per_layer + H);
  const MemoryEstimate e = estimate_memory(r);
  EXPECT_EQ(e.weights.per_device, weights);  // 43.50 GiB
  EXPECT_EQ(e.weights.expert_per_device, 2 * L * E * 3 * H * i);
  EXPECT_LT(weights, l40s.memory_bytes);  // the weights alone would squeeze in...
  EXPECT_FALSE(e.weights_fit);            // ...but not with activations and the runtime
  EXPECT_FALSE(e.fits);

  r.memory_utilization = 0.85;
  r.layout = WeightLayout{WeightFormat::kFp8, 8, -1};
  const MemoryEstimate fp8 = estimate_memory(r);
  EXPECT_TRUE(fp8.fits);
  EXPECT_LT(fp8.weights.per_device,
            weights / 2 + 200 * kMiB);  // 16-bit embeddings and norms remain
}

// AWQ 4-bit, groups of 128: per [out, in] matrix in*out/2 bytes of qweight,
// in/128*out 16-bit scales and in/128*out 4-bit zeros; embeddings, lm_head
// and norms stay 16-bit. TheBloke/Llama-2-7B-Chat-AWQ's safetensors file is
// 3.89 GB, which this reproduces.
TEST(MemoryModel, AwqBytesIncludeScalesAndZeros) {
  auto awq = [](int64_t in, int64_t out) {
    return in * out / 2 + (in / 128) * out * 2 + (in / 128) * out / 2;
  };
  const int64_t groups_down = (11008 + 127) / 128;  // 86 groups: 11008 is not a multiple of 128
  const int64_t down = 11008 * 4096 / 2 + groups_down * 4096 * 2 + groups_down * 4096 / 2;
  const int64_t per_layer = 4 * awq(4096, 4096) + 2 * awq(4096, 11008) + down + 2 * 4096 * 2;
  const int64_t expected = 32 * per_layer + 2 * 32000 * 4096 * 2 + 4096 * 2;
  const WeightBytes w =
      weight_bytes(catalog("llama-2-7b").arch, WeightLayout{WeightFormat::kAwq, 4, 128}, 1);
  EXPECT_EQ(w.total, expected);
  EXPECT_EQ(w.total, 3'889'307'648);

  // GPTQ stores the same plus a 4-byte group index per input row.
  const WeightBytes g =
      weight_bytes(catalog("llama-2-7b").arch, WeightLayout{WeightFormat::kGptq, 4, 128}, 1);
  EXPECT_EQ(g.total - w.total, 32 * (4 * 4096 + 2 * 4096 + 11008) * 4);
}

TEST(MemoryModel, Fp8AndInt8KeepEmbeddingsAt16Bit) {
  const ModelConfig m = catalog("llama-2-7b").arch;
  const WeightBytes f16 = weight_bytes(m, {}, 1);
  const WeightBytes fp8 = weight_bytes(m, WeightLayout{WeightFormat::kFp8, 8, -1}, 1);
  const WeightBytes int8 = weight_bytes(m, WeightLayout{WeightFormat::kInt8, 8, -1}, 1);
  const int64_t embeddings = 2 * 32000 * 4096 * 2;
  const int64_t norms = (2 * 32 + 1) * 4096 * 2;
  const int64_t linear_params = 6'738'415'616 - 2 * 32000 * 4096 - (2 * 32 + 1) * 4096;
  EXPECT_EQ(f16.embedding_total, embeddings);
  EXPECT_EQ(fp8.total,
            embeddings + norms + linear_params + 7 * 32 * 4);  // a float32 scale per matrix
  // One 16-bit scale per output channel: q,k,v,o and up/gate give 4096 or 11008 outputs, down 4096.
  EXPECT_EQ(int8.total, embeddings + norms + linear_params + 32 * (5 * 4096 + 2 * 11008) * 2);
}

TEST(MemoryModel, KvBytesPerTokenByDtypeAndParallelism) {
  const ModelConfig m = catalog("llama-2-70b").arch;
  EXPECT_EQ(kv_bytes_per_token(m, KvCacheDtype::kAuto, 1), 2 * 80 * 8 * 128 * 2);
  EXPECT_EQ(kv_bytes_per_token(m, KvCacheDtype::kBf16, 1), 2 * 80 * 8 * 128 * 2);
  EXPECT_EQ(kv_bytes_per_token(m, KvCacheDtype::kFp8E5M2, 1), 2 * 80 * 8 * 128);
  EXPECT_EQ(kv_bytes_per_token(m, KvCacheDtype::kAuto, 4), 2 * 80 * 2 * 128 * 2);
  // 16 devices share 8 KV heads: each keeps one whole head.
  EXPECT_EQ(kv_heads_per_device(m, 16), 1);
  EXPECT_EQ(kv_bytes_per_token(m, KvCacheDtype::kAuto, 16), 2 * 80 * 1 * 128 * 2);
}

TEST(MemoryModel, ExpertCacheLimitsResidentWeights) {
  MemoryRequest r;
  r.model = catalog("mixtral-8x7b").arch;
  r.device_memory_bytes = 128 * kGiB;
  r.max_model_len = 4096;
  const MemoryEstimate all = estimate_memory(r);
  r.expert_cache_bytes = 10 * kGiB;
  const MemoryEstimate cached = estimate_memory(r);
  EXPECT_EQ(cached.resident_weight_bytes,
            all.weights.per_device - all.weights.expert_per_device + 10 * kGiB);
  EXPECT_GT(cached.kv_capacity_tokens, all.kv_capacity_tokens);
}

TEST(MemoryModel, SlidingWindowCapsTheKvOfASequence) {
  MemoryRequest r;
  r.model = catalog("mistral-7b").arch;
  r.model.sliding_window = 4096;
  r.max_model_len = 32768;
  r.device_memory_bytes = 48 * kGiB;
  const MemoryEstimate e = estimate_memory(r);
  EXPECT_EQ(e.tokens_per_sequence, 4096);
  EXPECT_EQ(e.kv_capacity_sequences, e.kv_blocks / (4096 / 16));
}

// Decode at batch 1 reads every weight once: tokens/s = bandwidth / bytes.
TEST(Roofline, BatchOneIsBandwidthBoundAndLargeBatchesComputeBound) {
  const HardwareSpec l40s = *find_hardware("l40s");
  const ModelConfig m = catalog("llama-2-7b").arch;
  const int64_t weights = 2 * 6'738'415'616;
  const int64_t read =
      weights - 32000 * 4096 * 2;  // the input embedding is looked up, not streamed
  const DecodeRoofline one =
      decode_roofline(m, {}, 1, kv_bytes_per_token(m, KvCacheDtype::kAuto, 1), l40s, 1, 0);
  EXPECT_DOUBLE_EQ(one.bytes_per_step, static_cast<double>(read));
  EXPECT_NEAR(one.tokens_per_second, 864e9 / static_cast<double>(read), 1e-9);
  EXPECT_FALSE(one.compute_bound);

  const DecodeRoofline many =
      decode_roofline(m, {}, 1, kv_bytes_per_token(m, KvCacheDtype::kAuto, 1), l40s, 512, 0);
  const double flops = 512.0 * 2.0 * static_cast<double>(6'738'415'616 - 32000 * 4096);
  EXPECT_DOUBLE_EQ(many.flops_per_step, flops);
  EXPECT_TRUE(many.compute_bound);
  EXPECT_NEAR(many.tokens_per_second, 512.0 / (flops / 362.05e12), 1e-6);

  // FP8 weights on native FP8 tensor cores: half the bytes, twice the peak.
  const WeightLayout fp8{WeightFormat::kFp8, 8, -1};
  const DecodeRoofline fast =
      decode_roofline(m, fp8, 1, kv_bytes_per_token(m, KvCacheDtype::kAuto, 1), l40s, 1, 0);
  EXPECT_GT(fast.tokens_per_second, 1.8 * one.tokens_per_second);
}

TEST(Roofline, MoeBatchOneReadsOnlyRoutedExperts) {
  const HardwareSpec l40s = *find_hardware("l40s");
  const ModelConfig m = catalog("mixtral-8x7b").arch;
  const WeightBytes w = weight_bytes(m, {}, 1);
  const DecodeRoofline one = decode_roofline(m, {}, 1, 0, l40s, 1, 0);
  const double expected = static_cast<double>(w.per_device - 32000 * 4096 * 2) -
                          static_cast<double>(w.expert_per_device) * (1.0 - 2.0 / 8.0);
  EXPECT_NEAR(one.bytes_per_step, expected, 1.0);
}

}  // namespace
}  // namespace localmoe
