#include "localmoe/kv/block_pool.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

namespace localmoe {
namespace {

std::vector<int32_t> queue_of(const BlockPool& pool) {
  std::vector<int32_t> q;
  pool.free_queue(q);
  return q;
}

// Every hash collides: only the token and parent comparisons tell blocks apart.
uint64_t constant_hash(uint64_t, std::span<const int32_t>) {
  return 42;
}

TEST(BlockPool, StartsFreeInIdOrder) {
  Allocator allocator;
  BlockPool pool(4, 2, allocator);
  EXPECT_EQ(pool.num_blocks(), 4);
  EXPECT_EQ(pool.num_free_blocks(), 4);
  EXPECT_EQ(pool.usage(), 0.0);
  EXPECT_EQ(queue_of(pool), (std::vector<int32_t>{0, 1, 2, 3}));
  // Metadata, token table and buckets are accounted.
  EXPECT_GT(allocator.bytes_in_use(MemoryCategory::kOther), 4u * 2 * sizeof(int32_t));
}

TEST(BlockPool, AllocatesFromTheFrontAndTakesUncachedBlocksBackFirst) {
  Allocator allocator;
  BlockPool pool(4, 2, allocator);
  std::vector<int32_t> got;
  pool.allocate(2, got);
  EXPECT_EQ(got, (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(pool.ref_count(0), 1);
  EXPECT_EQ(pool.num_free_blocks(), 2);
  EXPECT_EQ(pool.usage(), 0.5);
  // Uncached blocks hold nothing worth keeping: they are reused first.
  pool.release(got);
  EXPECT_EQ(queue_of(pool), (std::vector<int32_t>{1, 0, 2, 3}));
  EXPECT_EQ(pool.num_free_blocks(), 4);
}

TEST(BlockPool, RefCountsShareBlocks) {
  Allocator allocator;
  BlockPool pool(3, 2, allocator);
  std::vector<int32_t> got;
  pool.allocate(1, got);
  pool.acquire(got);
  EXPECT_EQ(pool.ref_count(0), 2);
  pool.release(got);
  EXPECT_EQ(pool.ref_count(0), 1);
  EXPECT_EQ(pool.num_free_blocks(), 2);
  pool.release(got);
  EXPECT_EQ(pool.ref_count(0), 0);
  EXPECT_EQ(pool.num_free_blocks(), 3);
}

TEST(BlockPool, CachedBlocksStayFindableUntilEvictedLeastRecentlyFreedFirst) {
  Allocator allocator;
  BlockPool pool(4, 2, allocator);
  std::vector<int32_t> got;
  pool.allocate(3, got);  // 0, 1, 2
  const std::array<int32_t, 2> t0 = {10, 11};
  const std::array<int32_t, 2> t1 = {12, 13};
  PrefixChain chain;
  pool.cache_block(0, t0, chain);
  const PrefixChain after0 = chain;
  pool.cache_block(1, t1, chain);
  EXPECT_EQ(pool.num_cached_blocks(), 2);
  // A sequence is freed tail first: 2 (uncached, to the front), then 1, 0.
  pool.release(std::array<int32_t, 1>{2});
  pool.release(std::array<int32_t, 2>{1, 0});
  EXPECT_EQ(queue_of(pool), (std::vector<int32_t>{2, 3, 1, 0}));
  EXPECT_EQ(pool.find_cached(PrefixChain{}, t0), std::optional<int32_t>(0));
  EXPECT_EQ(pool.find_cached(after0, t1), std::optional<int32_t>(1));

  std::vector<int32_t> again;
  pool.allocate(3, again);
  EXPECT_EQ(again, (std::vector<int32_t>{2, 3, 1}));
  EXPECT_EQ(pool.stats().evictions, 1);
  EXPECT_FALSE(pool.is_cached(1));
  EXPECT_EQ(pool.find_cached(after0, t1), std::nullopt);
  EXPECT_EQ(pool.find_cached(PrefixChain{}, t0), std::optional<int32_t>(0));
  EXPECT_EQ(pool.num_cached_blocks(), 1);
}

TEST(BlockPool, AcquiringAFreeCachedBlockTakesItOutOfTheMiddleOfTheQueue) {
  Allocator allocator;
  BlockPool pool(4, 2, allocator);
  std::vector<int32_t> got;
  pool.allocate(4, got);
  PrefixChain chain;
  pool.cache_block(1, std::array<int32_t, 2>{5, 6}, chain);
  pool.cache_block(2, std::array<int32_t, 2>{7, 8}, chain);
  pool.release(std::array<int32_t, 4>{3, 2, 1, 0});
  EXPECT_EQ(queue_of(pool), (std::vector<int32_t>{0, 3, 2, 1}));
  pool.acquire(std::array<int32_t, 1>{2});
  EXPECT_EQ(queue_of(pool), (std::vector<int32_t>{0, 3, 1}));
  EXPECT_EQ(pool.num_free_blocks(), 3);
  EXPECT_EQ(pool.ref_count(2), 1);
  EXPECT_TRUE(pool.is_cached(2));
}

TEST(BlockPool, FindPrefixLeavesTheLastTokenToCompute) {
  Allocator allocator;
  BlockPool pool(4, 4, allocator);
  std::vector<int32_t> got;
  pool.allocate(2, got);
  const std::vector<int32_t> tokens = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  PrefixChain chain;
  pool.cache_block(0, std::span(tokens).first(4), chain);
  pool.cache_block(1, std::span(tokens).subspan(4, 4), chain);
  const PrefixChain two_blocks = chain;

  std::vector<int32_t> hit;
  PrefixChain found;
  // Exactly two blocks of tokens: the second block holds the last token.
  pool.find_prefix(std::span(tokens).first(8), hit, found);
  EXPECT_EQ(hit, (std::vector<int32_t>{0}));
  EXPECT_EQ(found.serial, pool.cached_identity(0).serial);
  hit.clear();
  pool.find_prefix(tokens, hit, found);
  EXPECT_EQ(hit, (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(found.serial, two_blocks.serial);
  EXPECT_EQ(found.hash, two_blocks.hash);
  // A different first block: nothing.
  hit.clear();
  const std::vector<int32_t> other = {1, 2, 3, 5, 5, 6, 7, 8, 9};
  pool.find_prefix(other, hit, found);
  EXPECT_TRUE(hit.empty());
  EXPECT_EQ(found.serial, 0u);
  // Lookups bind nothing.
  EXPECT_EQ(pool.ref_count(0), 1);
  EXPECT_EQ(pool.stats().queries, 0);
}

TEST(BlockPool, CollidingHashesNeverReturnAnotherPrefixsBlocks) {
  Allocator allocator;
  BlockPool pool(4, 2, allocator, constant_hash);
  std::vector<int32_t> got;
  pool.allocate(3, got);
  const std::array<int32_t, 2> x = {1, 1};
  const std::array<int32_t, 2> y = {2, 2};
  const std::array<int32_t, 2> z = {3, 3};
  // Sequence X Y cached in blocks 0, 1; sequence Z in block 2. All hash to 42.
  PrefixChain chain;
  pool.cache_block(0, x, chain);
  pool.cache_block(1, y, chain);
  PrefixChain other;
  pool.cache_block(2, z, other);

  // Same hash, different tokens: no hit.
  EXPECT_EQ(pool.find_cached(PrefixChain{}, std::array<int32_t, 2>{4, 4}), std::nullopt);
  EXPECT_EQ(pool.find_cached(PrefixChain{}, z), std::optional<int32_t>(2));
  // Z Y: block Y's tokens and hash match, but it follows X, not Z.
  std::vector<int32_t> hit;
  PrefixChain found;
  const std::vector<int32_t> zy = {3, 3, 2, 2, 9};
  pool.find_prefix(zy, hit, found);
  EXPECT_EQ(hit, (std::vector<int32_t>{2}));
  hit.clear();
  const std::vector<int32_t> xy = {1, 1, 2, 2, 9};
  pool.find_prefix(xy, hit, found);
  EXPECT_EQ(hit, (std::vector<int32_t>{0, 1}));
  // Evicting from a crowded bucket unlinks only the evicted block.
  pool.release(std::array<int32_t, 1>{0});
  std::vector<int32_t> more;
  pool.allocate(2, more);  // 3, then 0 (evicted)
  EXPECT_EQ(more, (std::vector<int32_t>{3, 0}));
  EXPECT_EQ(pool.find_cached(PrefixChain{}, x), std::nullopt);
  EXPECT_EQ(pool.find_cached(PrefixChain{}, z), std::optional<int32_t>(2));
  EXPECT_EQ(pool.num_cached_blocks(), 2);
}

TEST(BlockPool, RecordsQueriesInBlocksAndTokens) {
  Allocator allocator;
  BlockPool pool(4, 4, allocator);
  pool.record_query(/*num_query_tokens=*/9, /*num_hit_blocks=*/1);
  pool.record_query(/*num_query_tokens=*/3, /*num_hit_blocks=*/0);
  const PrefixCacheStats& s = pool.stats();
  EXPECT_EQ(s.queries, 2);
  EXPECT_EQ(s.query_tokens, 12);
  EXPECT_EQ(s.hit_tokens, 4);
  EXPECT_EQ(s.miss_tokens(), 8);
  EXPECT_EQ(s.query_blocks, 2);  // (9 - 1) / 4 + (3 - 1) / 4
  EXPECT_EQ(s.hit_blocks, 1);
  EXPECT_EQ(s.miss_blocks(), 1);
  EXPECT_DOUBLE_EQ(s.hit_rate(), 4.0 / 12.0);
  EXPECT_EQ(PrefixCacheStats{}.hit_rate(), 0.0);
}

TEST(BlockPoolDeathTest, AllocatingBeyondTheFreeBlocksIsABug) {
  Allocator allocator;
  BlockPool pool(2, 2, allocator);
  std::vector<int32_t> got;
  EXPECT_DEATH(pool.allocate(3, got), "count <= num_free_");
}

}  // namespace
}  // namespace localmoe
