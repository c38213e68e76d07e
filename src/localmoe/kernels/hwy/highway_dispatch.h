#pragma once
// Internal to kernels/hwy: the index of one Highway target in the function
// tables HWY_EXPORT builds, so each target's table is filled from its own
// functions. Highway's own dynamic dispatch picks one process-wide target;
// we need every target side by side (the variants are chosen per Kernels
// object, and tests compare them), without its test-only pinning API.

#include <cstddef>
#include <cstdint>

#include "hwy/base.h"
#include "hwy/targets.h"

namespace localmoe::kernels {

// The slot hwy::ChosenTarget::GetIndex() would return on a CPU whose best
// target is `target` (one HWY_* bit among the compiled ones).
inline size_t highway_dispatch_index(int64_t target) {
  const int64_t mask = HWY_CHOSEN_TARGET_SHIFT(target) | HWY_CHOSEN_TARGET_MASK_SCALAR;
  return hwy::Num0BitsBelowLS1Bit_Nonzero64(
      static_cast<uint64_t>(mask & HWY_CHOSEN_TARGET_MASK_TARGETS));
}

struct KernelTable;
// Each Highway source file fills its own entries for one target.
void fill_highway_matmul(int64_t target, bool prefetching, KernelTable& table);
void fill_highway_vector_ops(int64_t target, KernelTable& table);
void fill_highway_attention(int64_t target, KernelTable& table);

}  // namespace localmoe::kernels
