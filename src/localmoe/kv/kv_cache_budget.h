#pragma once
// How many KV blocks a deployment gets. From the device memory the engine may
// use (gpu.memory_limit_gb x engine.gpu_memory_utilization) go the weights and
// the forward pass's workspace; the rest, in whole blocks, is the KV cache.
// The host swap area is engine.swap_space GiB in whole blocks. A budget that
// cannot hold one engine.max_model_len sequence is a configuration error.

#include <cstdint>
#include <optional>

#include "localmoe/base/dtype.h"
#include "localmoe/config/config.h"
#include "localmoe/kv/kv_storage.h"

namespace localmoe {

struct KvCacheBudget {
  int64_t device_memory_bytes = 0;    // one device; gpu.memory_limit_gb or the device's own size
  double memory_utilization = 0.9;    // engine.gpu_memory_utilization, in (0, 1]
  int64_t weight_bytes = 0;           // resident weights on this device
  int64_t workspace_bytes = 0;        // activations and scratch of one step
  std::optional<int64_t> num_blocks;  // an explicit block count instead of the byte budget
  double swap_space_gib = 0.0;        // engine.swap_space
  int64_t max_model_len = 0;          // the resolved engine.max_model_len (>= 1)
  // engine.max_num_seqs; with it, the byte budget's block count is capped at
  // kKvSequencesPerSlot x max_num_seqs full-length sequences (0: no cap).
  int64_t max_num_seqs = 0;

  // From the configuration. `device_own_bytes` is the device's size, used when
  // gpu.memory_limit_gb is 0; `max_model_len` is resolved against the model.
  static KvCacheBudget from_config(const GpuConfig& gpu, const EngineConfig& engine,
                                   int64_t device_own_bytes, int64_t weight_bytes,
                                   int64_t workspace_bytes, int64_t max_model_len);
};

struct KvCacheCapacity {
  int64_t num_blocks = 0;       // device blocks
  int64_t num_host_blocks = 0;  // host swap area blocks
  int64_t block_size = 0;       // tokens per block
  int64_t bytes_per_block = 0;  // keys and values, all layers

  int64_t num_tokens() const { return num_blocks * block_size; }
  int64_t device_bytes() const { return num_blocks * bytes_per_block; }
  int64_t host_bytes() const { return num_host_blocks * bytes_per_block; }
};

// Block ids are int32: larger budgets are capped here.
inline constexpr int64_t kMaxKvBlocks = INT32_MAX;
// A budget far beyond what max_num_seqs sequences of max_model_len tokens can
// fill (a small model in a large RAM) would only cost block metadata and
// page-table work: blocks past this many full-length sequences per running
// slot are not allocated. The factor leaves room for the prefix cache to keep
// the blocks of finished requests.
inline constexpr int64_t kKvSequencesPerSlot = 4;

// Throws Error(kInvalidArgument) naming the figures and the keys to change
// when the weights and workspace leave nothing for the cache, or the cache
// cannot hold one max_model_len sequence.
KvCacheCapacity plan_kv_cache(const KvCacheLayout& layout, const KvCacheBudget& budget);

// The element type of engine.kv_cache_dtype; `auto` is the activation dtype.
DType resolve_kv_cache_dtype(KvCacheDtype dtype, DType activation_dtype);

}  // namespace localmoe
