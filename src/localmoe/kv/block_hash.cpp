#include "localmoe/kv/block_hash.h"

#include <xxhash.h>

namespace localmoe {

uint64_t hash_block_tokens(uint64_t parent_hash, std::span<const int32_t> tokens) {
  return XXH3_64bits_withSeed(tokens.data(), tokens.size_bytes(), parent_hash);
}

}  // namespace localmoe
