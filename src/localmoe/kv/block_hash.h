#pragma once
// The identity of a full KV block for prefix caching: a 64-bit hash chained
// over the parent block's hash and this block's token ids, so equal hashes
// mean (almost surely) equal prefixes. The hash only finds candidates; the
// block pool compares tokens and parent links before reusing KV, so even a
// collision can never hand out the wrong keys and values.

#include <cstdint>
#include <span>

namespace localmoe {

// hash(parent_hash, tokens of one full block). A plain function pointer so
// tests can inject a colliding hash.
using BlockHashFn = uint64_t (*)(uint64_t parent_hash, std::span<const int32_t> tokens);

// Parent hash of a sequence's first block ("LocalMoE" in ASCII). Fixed, not
// random per process, so hashes and logs are reproducible run to run.
inline constexpr uint64_t kRootBlockHash = 0x4c6f63616c4d6f45ull;

// XXH3_64bits over the block's int32 token ids, seeded with the parent hash.
uint64_t hash_block_tokens(uint64_t parent_hash, std::span<const int32_t> tokens);

}  // namespace localmoe
