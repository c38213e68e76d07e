#include "localmoe/loader/in_memory_source.h"

#include <cstdint>

#include <gtest/gtest.h>

#include "loader/expect_error.h"

namespace localmoe {
namespace {

using testing::expect_error;

TEST(InMemoryTensorSourceTest, AddsZeroedWritableTensorsCountedAsWeights) {
  Allocator allocator;
  {
    InMemoryTensorSource source(allocator, "random model");
    auto* w = static_cast<float*>(source.add("w", DType::kF32, Shape{3, 5}));
    auto* b = static_cast<uint16_t*>(source.add("b", DType::kBF16, Shape{5}));
    ASSERT_NE(w, nullptr);
    for (int i = 0; i < 15; ++i) EXPECT_EQ(w[i], 0.0f);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(b[i], 0);
    w[14] = 2.5f;
    EXPECT_EQ(allocator.bytes_in_use(MemoryCategory::kWeights), 15u * 4 + 5u * 2);

    EXPECT_EQ(source.names(), (std::vector<std::string>{"b", "w"}));
    EXPECT_EQ(source.description(), "random model");
    const TensorInfo* info = source.find("w");
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->num_bytes, 60u);
    EXPECT_EQ(info->file, "");
    const TensorView view = source.view("w");
    EXPECT_EQ(view.data, w);
    EXPECT_EQ(view.shape, (Shape{3, 5}));
    EXPECT_EQ(view.as<float>()[14], 2.5f);
    EXPECT_EQ(source.find("x"), nullptr);
  }
  EXPECT_EQ(allocator.bytes_in_use(MemoryCategory::kWeights), 0u);
}

TEST(InMemoryTensorSourceTest, EmptyTensorHasNoBuffer) {
  Allocator allocator;
  InMemoryTensorSource source(allocator);
  EXPECT_EQ(source.add("e", DType::kF32, Shape{0, 4}), nullptr);
  EXPECT_EQ(source.view("e").num_elements(), 0);
}

TEST(InMemoryTensorSourceTest, DuplicateAndMissingNamesAreErrors) {
  Allocator allocator;
  InMemoryTensorSource source(allocator, "mem");
  source.add("w", DType::kF32, Shape{1});
  expect_error([&] { source.add("w", DType::kF16, Shape{2}); }, ErrorKind::kInvalidArgument,
               {"tensor 'w' is already in 'mem'"});
  expect_error([&] { source.view("v"); }, ErrorKind::kNotFound, {"no tensor 'v' in 'mem'"});
}

}  // namespace
}  // namespace localmoe
