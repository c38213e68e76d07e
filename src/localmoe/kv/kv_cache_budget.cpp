#include "localmoe/kv/kv_cache_budget.h"

#include <algorithm>
#include <cmath>

#include "localmoe/base/error.h"
#include "localmoe/config/memory_model.h"

namespace localmoe {

KvCacheBudget KvCacheBudget::from_config(const GpuConfig& gpu, const EngineConfig& engine,
                                         int64_t device_own_bytes, int64_t weight_bytes,
                                         int64_t workspace_bytes, int64_t max_model_len) {
  KvCacheBudget b;
  b.device_memory_bytes =
      gpu.memory_limit_gb > 0.0
          ? static_cast<int64_t>(std::llround(gpu.memory_limit_gb * kBytesPerGiB))
          : device_own_bytes;
  b.memory_utilization = engine.gpu_memory_utilization;
  b.weight_bytes = weight_bytes;
  b.workspace_bytes = workspace_bytes;
  b.num_blocks = engine.num_gpu_blocks_override;
  b.swap_space_gib = engine.swap_space;
  b.max_model_len = max_model_len;
  b.max_num_seqs = engine.max_num_seqs;
  return b;
}

KvCacheCapacity plan_kv_cache(const KvCacheLayout& layout, const KvCacheBudget& budget) {
  LM_CHECK_GT(layout.bytes_per_block(), 0);
  LM_CHECK_GT(budget.max_model_len, 0);
  KvCacheCapacity c;
  c.block_size = layout.block_size;
  c.bytes_per_block = layout.bytes_per_block();

  if (budget.num_blocks) {
    if (*budget.num_blocks < 1) {
      throw make_error(ErrorKind::kInvalidArgument, "the KV cache needs at least 1 block, got ",
                       *budget.num_blocks);
    }
    c.num_blocks = *budget.num_blocks;
  } else {
    const int64_t usable = static_cast<int64_t>(
        std::floor(static_cast<double>(budget.device_memory_bytes) * budget.memory_utilization));
    const int64_t kv_bytes = usable - budget.weight_bytes - budget.workspace_bytes;
    if (kv_bytes < c.bytes_per_block) {
      throw make_error(
          ErrorKind::kInvalidArgument, "no memory is left for the KV cache: the budget of ",
          format_gib(static_cast<double>(usable)), " (", budget.device_memory_bytes,
          " bytes x gpu_memory_utilization ", budget.memory_utilization, ") minus ",
          format_gib(static_cast<double>(budget.weight_bytes)), " of weights minus ",
          format_gib(static_cast<double>(budget.workspace_bytes)), " of workspace leaves ",
          kv_bytes, " bytes, less than one block (", c.bytes_per_block,
          " bytes); raise gpu.memory_limit_gb or engine.gpu_memory_utilization, or shrink the "
          "weights with engine.quantization");
    }
    c.num_blocks = std::min(kv_bytes / c.bytes_per_block, kMaxKvBlocks);
  }

  const int64_t blocks_per_sequence = blocks_for_tokens(budget.max_model_len, c.block_size);
  if (!budget.num_blocks && budget.max_num_seqs > 0) {
    const int64_t useful = kKvSequencesPerSlot * budget.max_num_seqs * blocks_per_sequence;
    c.num_blocks = std::min(c.num_blocks, useful);
  }
  if (c.num_blocks < blocks_per_sequence) {
    throw make_error(
        ErrorKind::kInvalidArgument, "the KV cache holds ", c.num_blocks, " blocks of ",
        c.block_size, " tokens (", c.num_tokens(), " tokens, ",
        format_gib(static_cast<double>(c.device_bytes())),
        "), fewer than one engine.max_model_len sequence of ", budget.max_model_len,
        " tokens needs (", blocks_per_sequence, " blocks, ",
        format_gib(static_cast<double>(blocks_per_sequence * c.bytes_per_block)),
        "); lower engine.max_model_len, choose a smaller engine.kv_cache_dtype, or raise "
        "gpu.memory_limit_gb or engine.gpu_memory_utilization");
  }

  if (budget.swap_space_gib < 0.0) {
    throw make_error(ErrorKind::kInvalidArgument, "engine.swap_space must be >= 0 GiB, got ",
                     budget.swap_space_gib);
  }
  const int64_t swap_bytes = static_cast<int64_t>(std::floor(budget.swap_space_gib * kBytesPerGiB));
  c.num_host_blocks = std::min(swap_bytes / c.bytes_per_block, kMaxKvBlocks);
  return c;
}

DType resolve_kv_cache_dtype(KvCacheDtype dtype, DType activation_dtype) {
  switch (dtype) {
    case KvCacheDtype::kAuto: return activation_dtype;
    case KvCacheDtype::kFp16: return DType::kF16;
    case KvCacheDtype::kBf16: return DType::kBF16;
    case KvCacheDtype::kFp8E4M3: return DType::kF8E4M3;
    case KvCacheDtype::kFp8E5M2: return DType::kF8E5M2;
  }
  return activation_dtype;
}

}  // namespace localmoe
