#pragma once
// The keys and values of the paged KV cache: one allocation for the device
// blocks and one for the host swap area, both laid out per layer as
//   keys(layer), values(layer): [num_blocks, block_size, num_kv_heads, head_dim]
// row-major, so token slot s of block b in layer l starts at element
// (b * block_size + s) * num_kv_heads * head_dim of keys(l). The element type is
// a parameter (F32, F16, BF16 now; FP8 stores the same way). Whole-block
// copies (swap out, swap in, copy-on-write) follow BlockCopy lists.

#include <cstdint>
#include <span>

#include "localmoe/base/allocator.h"
#include "localmoe/base/dtype.h"
#include "localmoe/config/model_config.h"
#include "localmoe/kv/block_copy.h"

namespace localmoe {

// Blocks of `block_size` tokens needed to hold `num_tokens` tokens.
constexpr int64_t blocks_for_tokens(int64_t num_tokens, int64_t block_size) {
  return (num_tokens + block_size - 1) / block_size;
}

// What one token and one block of the cache hold on this device.
struct KvCacheLayout {
  int64_t num_layers = 0;
  int64_t num_kv_heads = 0;  // heads this device holds (all of them without tensor parallelism)
  int64_t head_dim = 0;
  int64_t block_size = 16;  // tokens per block
  DType dtype = DType::kF32;

  // The whole model's KV heads on one device.
  static KvCacheLayout of_model(const ModelConfig& model, int64_t block_size, DType dtype);

  // Keys and values of one token, all layers.
  int64_t bytes_per_token() const;
  // Keys and values of one block, all layers.
  int64_t bytes_per_block() const { return bytes_per_token() * block_size; }
};

class KvStorage {
 public:
  // Device blocks come from `allocator` as MemoryCategory::kKvCache, the host
  // swap area (none when num_host_blocks is 0) as MemoryCategory::kOther.
  // Throws Error(kUnsupported) for a dtype that is not a 1-, 2- or 4-byte float.
  KvStorage(const KvCacheLayout& layout, int64_t num_blocks, int64_t num_host_blocks,
            Allocator& allocator);

  // [num_blocks, block_size, num_kv_heads, head_dim] of `dtype()`.
  void* keys(int64_t layer) { return device_part(layer, 0); }
  void* values(int64_t layer) { return device_part(layer, 1); }
  const void* keys(int64_t layer) const { return device_part(layer, 0); }
  const void* values(int64_t layer) const { return device_part(layer, 1); }
  // The same layout over the host swap area: [num_host_blocks, block_size, ...].
  const void* host_keys(int64_t layer) const { return host_part(layer, 0); }
  const void* host_values(int64_t layer) const { return host_part(layer, 1); }

  const KvCacheLayout& layout() const { return layout_; }
  DType dtype() const { return layout_.dtype; }
  int64_t num_layers() const { return layout_.num_layers; }
  int64_t block_size() const { return layout_.block_size; }
  int64_t num_kv_heads() const { return layout_.num_kv_heads; }
  int64_t head_dim() const { return layout_.head_dim; }
  int64_t num_blocks() const { return num_blocks_; }
  int64_t num_host_blocks() const { return num_host_blocks_; }
  // Keys and values of one block, all layers.
  int64_t bytes_per_block() const { return layout_.bytes_per_block(); }
  // The device allocation: num_blocks x bytes_per_block.
  int64_t total_bytes() const { return num_blocks_ * bytes_per_block(); }
  int64_t host_bytes() const { return num_host_blocks_ * bytes_per_block(); }

  // Copies whole blocks (every layer, keys and values): device src -> host dst.
  void swap_out(std::span<const BlockCopy> copies);
  // Host src -> device dst.
  void swap_in(std::span<const BlockCopy> copies);
  // Device src -> device dst (copy-on-write of a shared, partly filled block).
  void copy_blocks(std::span<const BlockCopy> copies);

 private:
  // Bytes of one block of one layer's keys (or values).
  int64_t part_block_bytes() const;
  uint8_t* device_part(int64_t layer, int kind) const;
  uint8_t* host_part(int64_t layer, int kind) const;
  // Copies blocks between two areas of this layout holding `dst_blocks` and
  // `src_blocks` blocks per layer part.
  void copy(uint8_t* dst_area, int64_t dst_blocks, const uint8_t* src_area, int64_t src_blocks,
            std::span<const BlockCopy> copies) const;

  KvCacheLayout layout_;
  int64_t num_blocks_;
  int64_t num_host_blocks_;
  AlignedBuffer device_;  // [num_layers, 2 (k, v), num_blocks, block_size, num_kv_heads, head_dim]
  AlignedBuffer host_;    // [num_layers, 2 (k, v), num_host_blocks, block_size, ...]
};

}  // namespace localmoe
