#include "localmoe/kv/kv_storage.h"

#include <gtest/gtest.h>

#include <cstdint>

#include "loader/expect_error.h"

namespace localmoe {
namespace {

// 2 layers, 2 KV heads of 3 dims, 2 tokens per block, f32.
KvCacheLayout small_layout() {
  return KvCacheLayout{/*num_layers=*/2, /*num_kv_heads=*/2, /*head_dim=*/3, /*block_size=*/2,
                       DType::kF32};
}

constexpr int64_t kBlockElements = 2 * 2 * 3;  // block_size x heads x head_dim

// A value naming where it was written: layer, keys or values, block, element.
float tag(int64_t layer, int kind, int64_t block, int64_t element) {
  return static_cast<float>(layer * 100000 + kind * 10000 + block * 100 + element);
}

void fill_block(KvStorage& kv, int64_t block, int64_t as_block) {
  for (int64_t layer = 0; layer < kv.num_layers(); ++layer) {
    for (int kind = 0; kind < 2; ++kind) {
      float* base = static_cast<float*>(kind == 0 ? kv.keys(layer) : kv.values(layer));
      for (int64_t e = 0; e < kBlockElements; ++e) {
        base[block * kBlockElements + e] = tag(layer, kind, as_block, e);
      }
    }
  }
}

// True when device block `block` holds what fill_block(as_block) wrote.
bool holds(const KvStorage& kv, int64_t block, int64_t as_block) {
  for (int64_t layer = 0; layer < kv.num_layers(); ++layer) {
    for (int kind = 0; kind < 2; ++kind) {
      const float* base = static_cast<const float*>(kind == 0 ? kv.keys(layer) : kv.values(layer));
      for (int64_t e = 0; e < kBlockElements; ++e) {
        if (base[block * kBlockElements + e] != tag(layer, kind, as_block, e)) return false;
      }
    }
  }
  return true;
}

TEST(KvCacheLayout, CountsKeysAndValuesOfEveryLayer) {
  const KvCacheLayout layout = small_layout();
  EXPECT_EQ(layout.bytes_per_token(), 2 * 2 * 2 * 3 * 4);  // k+v, layers, heads, dims, f32
  EXPECT_EQ(layout.bytes_per_block(), 96 * 2);
  ModelConfig model;
  model.num_layers = 32;
  model.num_kv_heads = 8;
  model.head_dim = 128;
  const KvCacheLayout mistral = KvCacheLayout::of_model(model, 16, DType::kBF16);
  EXPECT_EQ(mistral.bytes_per_token(), 131072);  // 2 x 32 x 8 x 128 x 2
  EXPECT_EQ(mistral.bytes_per_block(), 2097152);
}

TEST(KvStorage, LaysOutEachLayerAsBlocksOfTokenSlots) {
  Allocator allocator;
  KvStorage kv(small_layout(), /*num_blocks=*/4, /*num_host_blocks=*/2, allocator);
  EXPECT_EQ(kv.num_blocks(), 4);
  EXPECT_EQ(kv.num_host_blocks(), 2);
  EXPECT_EQ(kv.bytes_per_block(), 192);
  EXPECT_EQ(kv.total_bytes(), 768);
  EXPECT_EQ(kv.host_bytes(), 384);
  EXPECT_EQ(allocator.bytes_in_use(MemoryCategory::kKvCache), 768u);
  EXPECT_EQ(allocator.bytes_in_use(MemoryCategory::kOther), 384u);
  const auto* k0 = static_cast<const uint8_t*>(kv.keys(0));
  // [num_blocks, block_size, heads, head_dim] f32 per part; parts k0, v0, k1, v1.
  EXPECT_EQ(static_cast<const uint8_t*>(kv.values(0)) - k0, 4 * kBlockElements * 4);
  EXPECT_EQ(static_cast<const uint8_t*>(kv.keys(1)) - k0, 2 * 4 * kBlockElements * 4);
  EXPECT_EQ(static_cast<const uint8_t*>(kv.values(1)) - k0, 3 * 4 * kBlockElements * 4);
}

TEST(KvStorage, SwapsAndCopiesWholeBlocks) {
  Allocator allocator;
  KvStorage kv(small_layout(), 4, 2, allocator);
  for (int64_t b = 0; b < 4; ++b) fill_block(kv, b, b);
  kv.swap_out(std::vector<BlockCopy>{{1, 0}, {3, 1}});
  EXPECT_EQ(static_cast<const float*>(kv.host_values(1))[kBlockElements + 5], tag(1, 1, 3, 5));
  fill_block(kv, 1, 9);
  fill_block(kv, 3, 9);
  kv.swap_in(std::vector<BlockCopy>{{0, 2}, {1, 0}});
  EXPECT_TRUE(holds(kv, 2, 1));
  EXPECT_TRUE(holds(kv, 0, 3));
  EXPECT_TRUE(holds(kv, 1, 9));
  kv.copy_blocks(std::vector<BlockCopy>{{2, 3}});
  EXPECT_TRUE(holds(kv, 3, 1));
  EXPECT_TRUE(holds(kv, 2, 1));
}

TEST(KvStorage, SixteenBitElementsHalveTheBytes) {
  Allocator allocator;
  KvCacheLayout layout = small_layout();
  layout.dtype = DType::kF16;
  KvStorage kv(layout, 4, 0, allocator);
  EXPECT_EQ(kv.total_bytes(), 384);
  EXPECT_EQ(kv.host_bytes(), 0);
  EXPECT_EQ(allocator.bytes_in_use(MemoryCategory::kOther), 0u);
}

TEST(KvStorage, RejectsANonFloatElementType) {
  Allocator allocator;
  KvCacheLayout layout = small_layout();
  layout.dtype = DType::kI32;
  testing::expect_error([&] { KvStorage kv(layout, 4, 0, allocator); }, ErrorKind::kUnsupported,
                        {"KV cache dtype I32 is not supported"});
  layout.dtype = DType::kF64;
  testing::expect_error([&] { KvStorage kv(layout, 4, 0, allocator); }, ErrorKind::kUnsupported,
                        {"F64"});
}

}  // namespace
}  // namespace localmoe
