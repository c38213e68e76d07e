#include "localmoe/base/allocator.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace localmoe {
namespace {

TEST(Allocator, AccountsPerCategoryAndReleases) {
  Allocator allocator;
  {
    AlignedBuffer small = allocator.allocate(100, MemoryCategory::kWorkspace);
    AlignedBuffer large = allocator.allocate(size_t{5} << 20, MemoryCategory::kWeights);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(small.data()) % 64, 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(large.data()) % 64, 0u);
    EXPECT_EQ(small.as<uint8_t>()[99], 0);
    EXPECT_EQ(large.as<uint8_t>()[(5 << 20) - 1], 0);
    EXPECT_EQ(allocator.bytes_in_use(MemoryCategory::kWorkspace), 100u);
    EXPECT_EQ(allocator.bytes_in_use(MemoryCategory::kWeights), size_t{5} << 20);
    AlignedBuffer moved = std::move(large);
    EXPECT_TRUE(large.empty());
    EXPECT_EQ(allocator.bytes_in_use_total(), (size_t{5} << 20) + 100);
  }
  EXPECT_EQ(allocator.bytes_in_use_total(), 0u);
}

}  // namespace
}  // namespace localmoe
