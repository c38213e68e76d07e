#include "localmoe/kv/block_pool.h"

#include <algorithm>
#include <bit>

namespace localmoe {

double PrefixCacheStats::hit_rate() const {
  return query_tokens > 0 ? static_cast<double>(hit_tokens) / static_cast<double>(query_tokens)
                          : 0.0;
}

BlockPool::BlockPool(int32_t num_blocks, int32_t block_size, Allocator& allocator, BlockHashFn hash)
    : num_blocks_(num_blocks), block_size_(block_size), hash_(hash) {
  LM_CHECK_GT(num_blocks, 0);
  LM_CHECK_GT(block_size, 0);
  LM_CHECK(hash != nullptr);
  // At most one cached block per bucket on average, so lookups and evictions
  // walk chains of about one entry.
  const uint64_t num_buckets = std::bit_ceil(static_cast<uint64_t>(num_blocks));
  bucket_mask_ = num_buckets - 1;
  meta_buffer_ = allocator.allocate(sizeof(BlockMeta) * num_blocks, MemoryCategory::kOther);
  tokens_buffer_ = allocator.allocate(
      sizeof(int32_t) * static_cast<size_t>(num_blocks) * block_size, MemoryCategory::kOther);
  buckets_buffer_ = allocator.allocate(sizeof(int32_t) * num_buckets, MemoryCategory::kOther);
  meta_ = meta_buffer_.as<BlockMeta>();
  tokens_ = tokens_buffer_.as<int32_t>();
  buckets_ = buckets_buffer_.as<int32_t>();
  std::fill(buckets_, buckets_ + num_buckets, kNone);
  for (int32_t b = 0; b < num_blocks; ++b) {
    meta_[b] = BlockMeta{
        /*hash=*/0,          /*serial=*/0,        /*parent_serial=*/0,     /*ref_count=*/0,
        /*prev_free=*/kNone, /*next_free=*/kNone, /*next_in_bucket=*/kNone};
    push_back(b);
  }
}

double BlockPool::usage() const {
  return static_cast<double>(num_blocks_ - num_free_) / static_cast<double>(num_blocks_);
}

// ---- free queue ---------------------------------------------------------------

void BlockPool::push_front(int32_t block) {
  BlockMeta& m = meta(block);
  m.prev_free = kNone;
  m.next_free = free_head_;
  if (free_head_ != kNone) meta(free_head_).prev_free = block;
  free_head_ = block;
  if (free_tail_ == kNone) free_tail_ = block;
  ++num_free_;
}

void BlockPool::push_back(int32_t block) {
  BlockMeta& m = meta(block);
  m.next_free = kNone;
  m.prev_free = free_tail_;
  if (free_tail_ != kNone) meta(free_tail_).next_free = block;
  free_tail_ = block;
  if (free_head_ == kNone) free_head_ = block;
  ++num_free_;
}

void BlockPool::unlink_free(int32_t block) {
  BlockMeta& m = meta(block);
  if (m.prev_free != kNone) {
    meta(m.prev_free).next_free = m.next_free;
  } else {
    free_head_ = m.next_free;
  }
  if (m.next_free != kNone) {
    meta(m.next_free).prev_free = m.prev_free;
  } else {
    free_tail_ = m.prev_free;
  }
  m.prev_free = kNone;
  m.next_free = kNone;
  --num_free_;
}

void BlockPool::free_queue(std::vector<int32_t>& out) const {
  for (int32_t b = free_head_; b != kNone; b = meta(b).next_free) out.push_back(b);
}

// ---- reference counts -----------------------------------------------------------

void BlockPool::allocate(int32_t count, std::vector<int32_t>& out) {
  LM_CHECK_LE(count, num_free_);
  for (int32_t i = 0; i < count; ++i) {
    const int32_t block = free_head_;
    unlink_free(block);
    if (meta(block).serial != 0) evict(block);
    meta(block).ref_count = 1;
    out.push_back(block);
  }
}

void BlockPool::acquire(std::span<const int32_t> blocks) {
  for (int32_t block : blocks) {
    BlockMeta& m = meta(block);
    if (m.ref_count == 0) unlink_free(block);
    ++m.ref_count;
  }
}

void BlockPool::release(std::span<const int32_t> blocks) {
  for (int32_t block : blocks) {
    BlockMeta& m = meta(block);
    LM_CHECK_GT(m.ref_count, 0);
    if (--m.ref_count > 0) continue;
    if (m.serial != 0) {
      push_back(block);
    } else {
      push_front(block);
    }
  }
}

int32_t BlockPool::ref_count(int32_t block) const {
  LM_CHECK(block >= 0 && block < num_blocks_);
  return meta(block).ref_count;
}

// ---- prefix cache ---------------------------------------------------------------

void BlockPool::find_prefix(std::span<const int32_t> tokens, std::vector<int32_t>& out,
                            PrefixChain& chain) const {
  chain = PrefixChain{};
  if (tokens.empty()) return;
  const size_t max_blocks = (tokens.size() - 1) / block_size_;
  for (size_t i = 0; i < max_blocks; ++i) {
    const auto block_tokens = tokens.subspan(i * block_size_, block_size_);
    const std::optional<int32_t> hit = find_cached(chain, block_tokens);
    if (!hit) return;
    out.push_back(*hit);
    chain = cached_identity(*hit);
  }
}

std::optional<int32_t> BlockPool::find_cached(const PrefixChain& parent,
                                              std::span<const int32_t> tokens) const {
  LM_CHECK_EQ(tokens.size(), static_cast<size_t>(block_size_));
  const uint64_t h = hash_(parent.hash, tokens);
  for (int32_t b = bucket(h); b != kNone; b = meta(b).next_in_bucket) {
    const BlockMeta& m = meta(b);
    if (m.hash == h && m.parent_serial == parent.serial &&
        std::equal(tokens.begin(), tokens.end(), tokens_of(b).begin())) {
      return b;
    }
  }
  return std::nullopt;
}

void BlockPool::cache_block(int32_t block, std::span<const int32_t> tokens, PrefixChain& chain) {
  LM_CHECK_EQ(tokens.size(), static_cast<size_t>(block_size_));
  BlockMeta& m = meta(block);
  LM_CHECK_GT(m.ref_count, 0);
  LM_CHECK_EQ(m.serial, uint64_t{0});
  m.hash = hash_(chain.hash, tokens);
  m.serial = next_serial_++;
  m.parent_serial = chain.serial;
  std::copy(tokens.begin(), tokens.end(), tokens_ + static_cast<size_t>(block) * block_size_);
  int32_t& head = bucket(m.hash);
  m.next_in_bucket = head;
  head = block;
  ++num_cached_;
  chain = PrefixChain{m.hash, m.serial};
}

bool BlockPool::is_cached(int32_t block) const {
  LM_CHECK(block >= 0 && block < num_blocks_);
  return meta(block).serial != 0;
}

PrefixChain BlockPool::cached_identity(int32_t block) const {
  LM_CHECK(is_cached(block));
  return PrefixChain{meta(block).hash, meta(block).serial};
}

void BlockPool::evict(int32_t block) {
  BlockMeta& m = meta(block);
  int32_t* link = &bucket(m.hash);
  while (*link != block) {
    LM_CHECK_NE(*link, kNone);
    link = &meta(*link).next_in_bucket;
  }
  *link = m.next_in_bucket;
  m.next_in_bucket = kNone;
  m.serial = 0;
  m.parent_serial = 0;
  m.hash = 0;
  --num_cached_;
  ++stats_.evictions;
}

void BlockPool::record_query(int64_t num_query_tokens, int32_t num_hit_blocks) {
  LM_CHECK_GT(num_query_tokens, 0);
  ++stats_.queries;
  stats_.query_tokens += num_query_tokens;
  stats_.hit_tokens += static_cast<int64_t>(num_hit_blocks) * block_size_;
  stats_.query_blocks += (num_query_tokens - 1) / block_size_;
  stats_.hit_blocks += num_hit_blocks;
}

}  // namespace localmoe
