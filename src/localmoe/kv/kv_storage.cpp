#include "localmoe/kv/kv_storage.h"

#include <cstring>

#include "localmoe/base/error.h"

namespace localmoe {

KvCacheLayout KvCacheLayout::of_model(const ModelConfig& model, int64_t block_size, DType dtype) {
  return KvCacheLayout{model.num_layers, model.num_kv_heads, model.head_dim, block_size, dtype};
}

int64_t KvCacheLayout::bytes_per_token() const {
  return 2 * num_layers * num_kv_heads * head_dim * static_cast<int64_t>(dtype_size(dtype));
}

KvStorage::KvStorage(const KvCacheLayout& layout, int64_t num_blocks, int64_t num_host_blocks,
                     Allocator& allocator)
    : layout_(layout), num_blocks_(num_blocks), num_host_blocks_(num_host_blocks) {
  const size_t element = dtype_size(layout.dtype);
  if (!is_floating(layout.dtype) || (element != 1 && element != 2 && element != 4)) {
    throw make_error(ErrorKind::kUnsupported, "KV cache dtype ", dtype_name(layout.dtype),
                     " is not supported; use F32, F16, BF16, F8_E4M3 or F8_E5M2");
  }
  LM_CHECK_GT(layout.num_layers, 0);
  LM_CHECK_GT(layout.num_kv_heads, 0);
  LM_CHECK_GT(layout.head_dim, 0);
  LM_CHECK_GT(layout.block_size, 0);
  LM_CHECK_GT(num_blocks, 0);
  LM_CHECK_GE(num_host_blocks, 0);
  device_ = allocator.allocate(static_cast<size_t>(total_bytes()), MemoryCategory::kKvCache);
  if (num_host_blocks > 0) {
    host_ = allocator.allocate(static_cast<size_t>(host_bytes()), MemoryCategory::kOther);
  }
}

int64_t KvStorage::part_block_bytes() const {
  return layout_.block_size * layout_.num_kv_heads * layout_.head_dim *
         static_cast<int64_t>(dtype_size(layout_.dtype));
}

uint8_t* KvStorage::device_part(int64_t layer, int kind) const {
  LM_CHECK(layer >= 0 && layer < layout_.num_layers);
  return device_.as<uint8_t>() + (layer * 2 + kind) * num_blocks_ * part_block_bytes();
}

uint8_t* KvStorage::host_part(int64_t layer, int kind) const {
  LM_CHECK(layer >= 0 && layer < layout_.num_layers);
  LM_CHECK_GT(num_host_blocks_, 0);
  return host_.as<uint8_t>() + (layer * 2 + kind) * num_host_blocks_ * part_block_bytes();
}

void KvStorage::copy(uint8_t* dst_area, int64_t dst_blocks, const uint8_t* src_area,
                     int64_t src_blocks, std::span<const BlockCopy> copies) const {
  const int64_t bytes = part_block_bytes();
  for (const BlockCopy& c : copies) {
    LM_CHECK(c.src >= 0 && c.src < src_blocks);
    LM_CHECK(c.dst >= 0 && c.dst < dst_blocks);
  }
  for (int64_t part = 0; part < 2 * layout_.num_layers; ++part) {
    uint8_t* dst = dst_area + part * dst_blocks * bytes;
    const uint8_t* src = src_area + part * src_blocks * bytes;
    for (const BlockCopy& c : copies) {
      std::memcpy(dst + c.dst * bytes, src + c.src * bytes, static_cast<size_t>(bytes));
    }
  }
}

void KvStorage::swap_out(std::span<const BlockCopy> copies) {
  if (copies.empty()) return;
  copy(host_.as<uint8_t>(), num_host_blocks_, device_.as<uint8_t>(), num_blocks_, copies);
}

void KvStorage::swap_in(std::span<const BlockCopy> copies) {
  if (copies.empty()) return;
  copy(device_.as<uint8_t>(), num_blocks_, host_.as<uint8_t>(), num_host_blocks_, copies);
}

void KvStorage::copy_blocks(std::span<const BlockCopy> copies) {
  for (const BlockCopy& c : copies) LM_CHECK_NE(c.src, c.dst);
  copy(device_.as<uint8_t>(), num_blocks_, device_.as<uint8_t>(), num_blocks_, copies);
}

}  // namespace localmoe
