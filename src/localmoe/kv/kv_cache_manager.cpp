#include "localmoe/kv/kv_cache_manager.h"

#include <algorithm>

#include "localmoe/base/error.h"
#include "localmoe/kv/kv_storage.h"

namespace localmoe {

KvCacheManager::KvCacheManager(const KvCacheManagerOptions& options, Allocator& allocator)
    : pool_(options.num_blocks, options.block_size, allocator, options.hash),
      block_size_(options.block_size),
      max_blocks_per_request_(options.max_blocks_per_request),
      prefix_caching_(options.enable_prefix_caching),
      num_host_blocks_(options.num_host_blocks) {
  LM_CHECK_GT(max_blocks_per_request_, 0);
  LM_CHECK_GE(num_host_blocks_, 0);
  free_host_blocks_.reserve(num_host_blocks_);
  for (int32_t b = num_host_blocks_ - 1; b >= 0; --b) free_host_blocks_.push_back(b);
  hit_scratch_.reserve(max_blocks_per_request_);
}

int64_t KvCacheManager::blocks_for_tokens(int64_t num_tokens) const {
  return localmoe::blocks_for_tokens(num_tokens, block_size_);
}

KvCacheManager::RequestBlocks& KvCacheManager::entry(uint64_t request_id) {
  const auto it = requests_.find(request_id);
  LM_CHECK(it != requests_.end());
  return it->second;
}

const KvCacheManager::RequestBlocks* KvCacheManager::find(uint64_t request_id) const {
  const auto it = requests_.find(request_id);
  return it == requests_.end() ? nullptr : &it->second;
}

KvCacheManager::RequestBlocks& KvCacheManager::create(uint64_t request_id) {
  LM_CHECK(!requests_.contains(request_id));
  RequestBlocks fresh;
  if (!spare_.empty()) {
    fresh = std::move(spare_.back());
    spare_.pop_back();
    fresh.blocks.clear();
    fresh.host_blocks.clear();
    fresh.num_cached_blocks = 0;
    fresh.chain = PrefixChain{};
  } else {
    fresh.blocks.reserve(max_blocks_per_request_);
    fresh.host_blocks.reserve(max_blocks_per_request_);
  }
  return requests_.emplace(request_id, std::move(fresh)).first->second;
}

void KvCacheManager::forget(uint64_t request_id) {
  const auto it = requests_.find(request_id);
  spare_.push_back(std::move(it->second));
  requests_.erase(it);
}

// ---- device blocks ----------------------------------------------------------------

PrefixHit KvCacheManager::get_computed_blocks(std::span<const int32_t> tokens) {
  PrefixHit hit;
  hit.pool_version = version_;
  if (!prefix_caching_ || tokens.empty()) return hit;
  hit_scratch_.clear();
  pool_.find_prefix(tokens, hit_scratch_, hit.chain);
  hit.blocks = hit_scratch_;
  hit.num_tokens = static_cast<int64_t>(hit_scratch_.size()) * block_size_;
  hit.num_query_tokens = static_cast<int64_t>(tokens.size());
  return hit;
}

std::optional<std::span<const int32_t>> KvCacheManager::allocate_slots(uint64_t request_id,
                                                                       int64_t num_tokens,
                                                                       const PrefixHit& hit) {
  const bool looked_up = hit.num_query_tokens > 0;
  RequestBlocks* e = requests_.contains(request_id) ? &entry(request_id) : nullptr;
  const int64_t held = e != nullptr ? static_cast<int64_t>(e->blocks.size()) : 0;
  if (looked_up) {
    LM_CHECK_EQ(hit.pool_version, version_);
    LM_CHECK_EQ(held, int64_t{0});
  }
  const int64_t needed = blocks_for_tokens(num_tokens);
  LM_CHECK_LE(needed, int64_t{max_blocks_per_request_});
  const int64_t have = held + static_cast<int64_t>(hit.blocks.size());
  const int64_t new_blocks = std::max<int64_t>(0, needed - have);
  // Hit blocks no request holds sit in the free queue: binding them uses up
  // free blocks just like new ones.
  const int64_t free_hits = std::count_if(hit.blocks.begin(), hit.blocks.end(),
                                          [&](int32_t b) { return pool_.ref_count(b) == 0; });
  if (new_blocks + free_hits > pool_.num_free_blocks()) return std::nullopt;

  if (e == nullptr) e = &create(request_id);
  if (looked_up) {
    // References first: the allocation below may otherwise evict a hit block.
    pool_.acquire(hit.blocks);
    e->blocks.assign(hit.blocks.begin(), hit.blocks.end());
    e->num_cached_blocks = static_cast<int32_t>(hit.blocks.size());
    e->chain = hit.chain;
    pool_.record_query(hit.num_query_tokens, static_cast<int32_t>(hit.blocks.size()));
  }
  pool_.allocate(static_cast<int32_t>(new_blocks), e->blocks);
  ++version_;
  return std::span<const int32_t>(e->blocks);
}

void KvCacheManager::cache_computed_blocks(uint64_t request_id, std::span<const int32_t> tokens,
                                           int64_t num_computed_tokens) {
  if (!prefix_caching_) return;
  LM_CHECK_LE(num_computed_tokens, static_cast<int64_t>(tokens.size()));
  RequestBlocks& e = entry(request_id);
  const int64_t full =
      std::min<int64_t>(num_computed_tokens / block_size_, static_cast<int64_t>(e.blocks.size()));
  for (int64_t i = e.num_cached_blocks; i < full; ++i) {
    const int32_t block = e.blocks[i];
    if (pool_.is_cached(block)) {
      // Shared with a fork parent that cached it first: same content.
      e.chain = pool_.cached_identity(block);
    } else {
      pool_.cache_block(block, tokens.subspan(i * block_size_, block_size_), e.chain);
    }
    e.num_cached_blocks = static_cast<int32_t>(i + 1);
  }
}

void KvCacheManager::free(uint64_t request_id) {
  const auto it = requests_.find(request_id);
  if (it == requests_.end()) return;
  RequestBlocks& e = it->second;
  for (auto b = e.blocks.rbegin(); b != e.blocks.rend(); ++b) pool_.release({&*b, 1});
  for (int32_t host : e.host_blocks) free_host_blocks_.push_back(host);
  forget(request_id);
  ++version_;
}

// ---- swapping and forking -----------------------------------------------------------

bool KvCacheManager::swap_out(uint64_t request_id, std::vector<BlockCopy>& copies) {
  RequestBlocks& e = entry(request_id);
  LM_CHECK(e.host_blocks.empty());
  if (e.blocks.size() > free_host_blocks_.size()) return false;
  for (int32_t block : e.blocks) {
    const int32_t host = free_host_blocks_.back();
    free_host_blocks_.pop_back();
    e.host_blocks.push_back(host);
    copies.push_back(BlockCopy{block, host});
  }
  for (auto b = e.blocks.rbegin(); b != e.blocks.rend(); ++b) pool_.release({&*b, 1});
  e.blocks.clear();
  // The blocks swapped back in are new ones: they get cached afresh.
  e.num_cached_blocks = 0;
  e.chain = PrefixChain{};
  ++version_;
  return true;
}

bool KvCacheManager::swap_in(uint64_t request_id, int64_t num_tokens,
                             std::vector<BlockCopy>& copies) {
  RequestBlocks& e = entry(request_id);
  LM_CHECK(e.blocks.empty());
  LM_CHECK(!e.host_blocks.empty());
  const int64_t needed =
      std::max<int64_t>(static_cast<int64_t>(e.host_blocks.size()), blocks_for_tokens(num_tokens));
  LM_CHECK_LE(needed, int64_t{max_blocks_per_request_});
  if (needed > pool_.num_free_blocks()) return false;
  pool_.allocate(static_cast<int32_t>(needed), e.blocks);
  for (size_t i = 0; i < e.host_blocks.size(); ++i) {
    copies.push_back(BlockCopy{e.host_blocks[i], e.blocks[i]});
    free_host_blocks_.push_back(e.host_blocks[i]);
  }
  e.host_blocks.clear();
  ++version_;
  return true;
}

std::optional<ForkResult> KvCacheManager::fork(uint64_t parent_id, uint64_t child_id,
                                               int64_t num_computed_tokens) {
  RequestBlocks& parent = entry(parent_id);
  LM_CHECK(parent.host_blocks.empty());
  LM_CHECK_LE(blocks_for_tokens(num_computed_tokens), static_cast<int64_t>(parent.blocks.size()));
  const int64_t full = num_computed_tokens / block_size_;
  const bool partial = num_computed_tokens % block_size_ != 0;
  if (partial && pool_.num_free_blocks() < 1) return std::nullopt;

  // unordered_map nodes do not move, so `parent` stays valid.
  RequestBlocks& child = create(child_id);
  child.blocks.assign(parent.blocks.begin(), parent.blocks.begin() + full);
  pool_.acquire(child.blocks);
  child.num_cached_blocks = std::min(parent.num_cached_blocks, static_cast<int32_t>(full));
  child.chain = child.num_cached_blocks > 0
                    ? pool_.cached_identity(child.blocks[child.num_cached_blocks - 1])
                    : PrefixChain{};
  ForkResult result;
  if (partial) {
    pool_.allocate(1, child.blocks);
    result.copy = BlockCopy{parent.blocks[full], child.blocks.back()};
  }
  ++version_;
  return result;
}

// ---- queries ----------------------------------------------------------------------

std::span<const int32_t> KvCacheManager::block_table(uint64_t request_id) const {
  const RequestBlocks* e = find(request_id);
  return e != nullptr ? std::span<const int32_t>(e->blocks) : std::span<const int32_t>();
}

int32_t KvCacheManager::num_host_blocks_of(uint64_t request_id) const {
  const RequestBlocks* e = find(request_id);
  return e != nullptr ? static_cast<int32_t>(e->host_blocks.size()) : 0;
}

int64_t KvCacheManager::num_cached_tokens(uint64_t request_id) const {
  const RequestBlocks* e = find(request_id);
  return e != nullptr ? int64_t{e->num_cached_blocks} * block_size_ : 0;
}

}  // namespace localmoe
