#include "localmoe/kv/kv_cache_manager.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <vector>

namespace localmoe {
namespace {

KvCacheManagerOptions options(int32_t num_blocks, int32_t num_host_blocks = 0,
                              bool prefix_caching = true) {
  KvCacheManagerOptions o;
  o.num_blocks = num_blocks;
  o.num_host_blocks = num_host_blocks;
  o.block_size = 4;
  o.max_blocks_per_request = 8;
  o.enable_prefix_caching = prefix_caching;
  return o;
}

std::vector<int32_t> iota_tokens(int n, int32_t first = 100) {
  std::vector<int32_t> t(n);
  std::iota(t.begin(), t.end(), first);
  return t;
}

std::vector<int32_t> table(const KvCacheManager& kv, uint64_t id) {
  const auto t = kv.block_table(id);
  return {t.begin(), t.end()};
}

TEST(KvCacheManager, AllocatesBlocksAsTheSequenceGrows) {
  Allocator allocator;
  KvCacheManager kv(options(4), allocator);
  const auto first = kv.allocate_slots(1, 10);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(table(kv, 1), (std::vector<int32_t>{0, 1, 2}));
  ASSERT_TRUE(kv.allocate_slots(1, 12).has_value());
  EXPECT_EQ(kv.block_table(1).size(), 3u);
  ASSERT_TRUE(kv.allocate_slots(1, 13).has_value());
  EXPECT_EQ(table(kv, 1), (std::vector<int32_t>{0, 1, 2, 3}));
  EXPECT_EQ(kv.num_free_blocks(), 0);
  EXPECT_EQ(kv.usage(), 1.0);
  // Out of blocks: nullopt, and nothing changes.
  EXPECT_FALSE(kv.allocate_slots(1, 17).has_value());
  EXPECT_FALSE(kv.allocate_slots(2, 1).has_value());
  EXPECT_FALSE(kv.holds(2));
  EXPECT_EQ(kv.block_table(1).size(), 4u);
  kv.free(1);
  EXPECT_FALSE(kv.holds(1));
  EXPECT_EQ(kv.num_free_blocks(), 4);
  kv.free(99);  // unknown ids are ignored
  EXPECT_EQ(kv.blocks_for_tokens(0), 0);
  EXPECT_EQ(kv.blocks_for_tokens(4), 1);
  EXPECT_EQ(kv.blocks_for_tokens(5), 2);
}

TEST(KvCacheManager, PrefixHitSharesComputedBlocksButNeverTheWholePrompt) {
  Allocator allocator;
  KvCacheManager kv(options(8), allocator);
  const std::vector<int32_t> prompt = iota_tokens(12);
  ASSERT_TRUE(kv.allocate_slots(1, 12).has_value());  // blocks 0, 1, 2
  // Nothing is cached before the model has computed it.
  EXPECT_TRUE(kv.get_computed_blocks(prompt).blocks.empty());
  kv.cache_computed_blocks(1, prompt, 12);
  EXPECT_EQ(kv.num_cached_tokens(1), 12);

  // Same 12 tokens: the third block holds the last token, which must be computed.
  const PrefixHit hit = kv.get_computed_blocks(prompt);
  EXPECT_EQ(std::vector<int32_t>(hit.blocks.begin(), hit.blocks.end()),
            (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(hit.num_tokens, 8);
  ASSERT_TRUE(kv.allocate_slots(2, 12, hit).has_value());
  EXPECT_EQ(table(kv, 2), (std::vector<int32_t>{0, 1, 3}));
  EXPECT_EQ(kv.pool().ref_count(0), 2);
  EXPECT_EQ(kv.pool().ref_count(2), 1);
  EXPECT_EQ(kv.num_cached_tokens(2), 8);

  // One token more: all three blocks hit.
  std::vector<int32_t> longer = prompt;
  longer.push_back(7);
  const PrefixHit all = kv.get_computed_blocks(longer);
  EXPECT_EQ(all.num_tokens, 12);
  ASSERT_TRUE(kv.allocate_slots(3, 13, all).has_value());
  EXPECT_EQ(table(kv, 3), (std::vector<int32_t>{0, 1, 2, 4}));

  const PrefixCacheStats& s = kv.prefix_cache_stats();
  EXPECT_EQ(s.queries, 2);
  EXPECT_EQ(s.query_tokens, 25);
  EXPECT_EQ(s.hit_tokens, 20);
  EXPECT_EQ(s.hit_blocks, 5);
  EXPECT_EQ(s.query_blocks, 5);
  kv.free(1);
  kv.free(2);
  kv.free(3);
  EXPECT_EQ(kv.num_free_blocks(), 8);
}

TEST(KvCacheManager, FreedPrefixIsHitUntilEvictedAndTheTailGoesFirst) {
  Allocator allocator;
  KvCacheManager kv(options(4), allocator);
  const std::vector<int32_t> prompt = iota_tokens(12);
  ASSERT_TRUE(kv.allocate_slots(1, 12).has_value());
  kv.cache_computed_blocks(1, prompt, 12);
  kv.free(1);  // 2, 1, 0 join the back: the tail block 2 is evicted before 1 and 0
  std::vector<int32_t> queue;
  kv.pool().free_queue(queue);
  EXPECT_EQ(queue, (std::vector<int32_t>{3, 2, 1, 0}));
  ASSERT_TRUE(kv.allocate_slots(2, 8).has_value());  // takes 3 and 2
  EXPECT_EQ(table(kv, 2), (std::vector<int32_t>{3, 2}));
  EXPECT_EQ(kv.prefix_cache_stats().evictions, 1);
  const PrefixHit hit = kv.get_computed_blocks(prompt);
  EXPECT_EQ(hit.num_tokens, 8);
}

TEST(KvCacheManager, FreeCachedHitBlocksCountAgainstTheFreeBlocks) {
  Allocator allocator;
  KvCacheManager kv(options(3), allocator);
  const std::vector<int32_t> prompt = iota_tokens(12);
  ASSERT_TRUE(kv.allocate_slots(1, 12).has_value());
  kv.cache_computed_blocks(1, prompt, 12);
  kv.free(1);                                        // queue 2, 1, 0, all cached
  ASSERT_TRUE(kv.allocate_slots(2, 1).has_value());  // evicts 2
  // The hit (0, 1) is free; binding it and one new block needs 3 free blocks, 2 exist.
  const PrefixHit hit = kv.get_computed_blocks(prompt);
  ASSERT_EQ(hit.num_tokens, 8);
  EXPECT_FALSE(kv.allocate_slots(3, 12, hit).has_value());
  EXPECT_FALSE(kv.holds(3));
  EXPECT_EQ(kv.pool().ref_count(0), 0);
  EXPECT_EQ(kv.prefix_cache_stats().queries, 0);  // only bound lookups count
  // Once request 2 lets its block go, the hit and one new block fit.
  kv.free(2);
  const PrefixHit again = kv.get_computed_blocks(prompt);
  ASSERT_TRUE(kv.allocate_slots(3, 12, again).has_value());
  EXPECT_EQ(table(kv, 3), (std::vector<int32_t>{0, 1, 2}));
  kv.free(3);
  EXPECT_EQ(kv.num_free_blocks(), 3);
}

TEST(KvCacheManager, CachesOnlyComputedFullBlocks) {
  Allocator allocator;
  KvCacheManager kv(options(4), allocator);
  const std::vector<int32_t> prompt = iota_tokens(10);
  ASSERT_TRUE(kv.allocate_slots(1, 10).has_value());
  kv.cache_computed_blocks(1, prompt, 6);  // one full block computed
  EXPECT_EQ(kv.num_cached_tokens(1), 4);
  EXPECT_EQ(kv.pool().num_cached_blocks(), 1);
  kv.cache_computed_blocks(1, prompt, 10);  // the third block is partial
  EXPECT_EQ(kv.num_cached_tokens(1), 8);
  EXPECT_EQ(kv.pool().num_cached_blocks(), 2);
  kv.free(1);
}

TEST(KvCacheManager, WithoutPrefixCachingNothingIsCachedOrFound) {
  Allocator allocator;
  KvCacheManager kv(options(4, 0, /*prefix_caching=*/false), allocator);
  const std::vector<int32_t> prompt = iota_tokens(12);
  ASSERT_TRUE(kv.allocate_slots(1, 12).has_value());
  kv.cache_computed_blocks(1, prompt, 12);
  EXPECT_EQ(kv.pool().num_cached_blocks(), 0);
  const PrefixHit hit = kv.get_computed_blocks(prompt);
  EXPECT_TRUE(hit.blocks.empty());
  EXPECT_EQ(hit.num_query_tokens, 0);
  ASSERT_TRUE(kv.allocate_slots(2, 1, hit).has_value());
  EXPECT_EQ(kv.prefix_cache_stats().queries, 0);
  kv.free(1);
  kv.free(2);
}

TEST(KvCacheManager, ForkSharesFullBlocksAndCopiesThePartialOne) {
  Allocator allocator;
  KvCacheManager kv(options(6), allocator);
  const std::vector<int32_t> prompt = iota_tokens(10);
  ASSERT_TRUE(kv.allocate_slots(1, 10).has_value());  // 0, 1, 2
  kv.cache_computed_blocks(1, prompt, 10);
  const auto forked = kv.fork(1, 2, 10);
  ASSERT_TRUE(forked.has_value());
  ASSERT_TRUE(forked->copy.has_value());
  EXPECT_EQ(*forked->copy, (BlockCopy{2, 3}));
  EXPECT_EQ(table(kv, 2), (std::vector<int32_t>{0, 1, 3}));
  EXPECT_EQ(kv.pool().ref_count(0), 2);
  EXPECT_EQ(kv.pool().ref_count(2), 1);
  EXPECT_EQ(kv.num_cached_tokens(2), 8);

  // A block-aligned parent: everything shared, nothing copied.
  ASSERT_TRUE(kv.allocate_slots(3, 8).has_value());  // 4, 5
  const auto aligned = kv.fork(3, 4, 8);
  ASSERT_TRUE(aligned.has_value());
  EXPECT_FALSE(aligned->copy.has_value());
  EXPECT_EQ(table(kv, 4), (std::vector<int32_t>{4, 5}));

  // No block left for a copy.
  EXPECT_FALSE(kv.fork(1, 5, 10).has_value());
  EXPECT_FALSE(kv.holds(5));
  for (uint64_t id : {1, 2, 3, 4}) kv.free(id);
  EXPECT_EQ(kv.num_free_blocks(), 6);
  for (int32_t b = 0; b < 6; ++b) EXPECT_EQ(kv.pool().ref_count(b), 0);
}

TEST(KvCacheManager, ForkedChildCachesItsOwnBlocksAfterTheSharedOnes) {
  Allocator allocator;
  KvCacheManager kv(options(8), allocator);
  std::vector<int32_t> parent = iota_tokens(6);
  ASSERT_TRUE(kv.allocate_slots(1, 6).has_value());
  kv.cache_computed_blocks(1, parent, 6);
  ASSERT_TRUE(kv.fork(1, 2, 6).has_value());
  std::vector<int32_t> child = parent;
  child.insert(child.end(), {7, 8, 9});
  ASSERT_TRUE(kv.allocate_slots(2, 9).has_value());
  kv.cache_computed_blocks(2, child, 9);
  EXPECT_EQ(kv.num_cached_tokens(2), 8);
  // The child's second block is found after the shared first one.
  child.push_back(10);
  EXPECT_EQ(kv.get_computed_blocks(child).num_tokens, 8);
  kv.free(1);
  kv.free(2);
}

TEST(KvCacheManager, SwapsOutToTheHostAreaAndBackIn) {
  Allocator allocator;
  KvCacheManager kv(options(4, /*num_host_blocks=*/4), allocator);
  const std::vector<int32_t> prompt = iota_tokens(10);
  ASSERT_TRUE(kv.allocate_slots(1, 10).has_value());  // 0, 1, 2
  kv.cache_computed_blocks(1, prompt, 10);
  std::vector<BlockCopy> out;
  ASSERT_TRUE(kv.swap_out(1, out));
  EXPECT_EQ(out, (std::vector<BlockCopy>{{0, 0}, {1, 1}, {2, 2}}));
  EXPECT_TRUE(kv.block_table(1).empty());
  EXPECT_EQ(kv.num_host_blocks_of(1), 3);
  EXPECT_EQ(kv.num_free_blocks(), 4);
  EXPECT_EQ(kv.num_free_host_blocks(), 1);

  // Another request takes two of the four free blocks meanwhile.
  ASSERT_TRUE(kv.allocate_slots(2, 8).has_value());
  std::vector<BlockCopy> in;
  EXPECT_FALSE(kv.swap_in(1, 11, in));  // needs 3 blocks, 2 free
  EXPECT_TRUE(in.empty());
  kv.free(2);
  ASSERT_TRUE(kv.swap_in(1, 13, in));  // three host blocks, room for 13 tokens: four blocks
  ASSERT_EQ(in.size(), 3u);
  const std::vector<int32_t> t = table(kv, 1);
  ASSERT_EQ(t.size(), 4u);
  for (size_t i = 0; i < in.size(); ++i) EXPECT_EQ(in[i], (BlockCopy{int32_t(i), t[i]}));
  EXPECT_EQ(kv.num_free_host_blocks(), 4);
  EXPECT_EQ(kv.num_host_blocks_of(1), 0);
  // Swapped-in blocks are new: cached afresh from the first block.
  EXPECT_EQ(kv.num_cached_tokens(1), 0);
  kv.cache_computed_blocks(1, prompt, 10);
  EXPECT_EQ(kv.num_cached_tokens(1), 8);
  kv.free(1);
  EXPECT_EQ(kv.num_free_blocks(), 4);
}

TEST(KvCacheManager, SwapOutNeedsRoomForEveryBlock) {
  Allocator allocator;
  KvCacheManager kv(options(4, /*num_host_blocks=*/2), allocator);
  ASSERT_TRUE(kv.allocate_slots(1, 10).has_value());
  std::vector<BlockCopy> out;
  EXPECT_FALSE(kv.swap_out(1, out));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(kv.block_table(1).size(), 3u);
  EXPECT_EQ(kv.num_free_host_blocks(), 2);
  kv.free(1);
}

TEST(KvCacheManager, FreeingASwappedRequestReturnsItsHostBlocks) {
  Allocator allocator;
  KvCacheManager kv(options(4, /*num_host_blocks=*/4), allocator);
  ASSERT_TRUE(kv.allocate_slots(1, 5).has_value());
  std::vector<BlockCopy> out;
  ASSERT_TRUE(kv.swap_out(1, out));
  EXPECT_EQ(kv.num_free_host_blocks(), 2);
  kv.free(1);
  EXPECT_EQ(kv.num_free_host_blocks(), 4);
  EXPECT_EQ(kv.num_free_blocks(), 4);
}

TEST(KvCacheManagerDeathTest, AStaleHitIsNeverBound) {
  Allocator allocator;
  KvCacheManager kv(options(4), allocator);
  const std::vector<int32_t> prompt = iota_tokens(9);
  ASSERT_TRUE(kv.allocate_slots(1, 9).has_value());
  kv.cache_computed_blocks(1, prompt, 9);
  const PrefixHit hit = kv.get_computed_blocks(prompt);
  ASSERT_EQ(hit.num_tokens, 8);
  kv.free(1);  // the hit's blocks may now be reused
  EXPECT_DEATH((void)kv.allocate_slots(2, 9, hit), "pool_version");
}

}  // namespace
}  // namespace localmoe
