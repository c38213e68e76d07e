// The Highway variants' tables: one per compiled target this CPU supports,
// each filled from that target's functions.

#include <vector>

#include "hwy/targets.h"
#include "localmoe/kernels/hwy/highway_dispatch.h"
#include "localmoe/kernels/kernel_table.h"

namespace localmoe::kernels {

std::vector<int64_t> highway_targets() {
  return hwy::SupportedAndGeneratedTargets();
}

KernelTable highway_kernels(int64_t target, bool prefetching) {
  KernelTable table{};
  table.name = hwy::TargetName(target);
  fill_highway_matmul(target, prefetching, table);
  fill_highway_vector_ops(target, table);
  fill_highway_attention(target, table);
  return table;
}

}  // namespace localmoe::kernels
