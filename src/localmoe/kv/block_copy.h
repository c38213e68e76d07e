#pragma once
// One whole-block copy ordered by the KV cache manager and carried out by
// KvStorage: every layer's keys and values of block `src` land in block
// `dst`. Which memory each id names (device or host area) depends on the list
// the copy sits in (swap out, swap in, device copy).

#include <cstdint>

namespace localmoe {

struct BlockCopy {
  int32_t src = 0;
  int32_t dst = 0;

  bool operator==(const BlockCopy&) const = default;
};

}  // namespace localmoe
