// Binding errors name the tensor and the checkpoint; Conv1D repacking
// transposes exactly.

#include "localmoe/model/weights.h"

#include <gtest/gtest.h>

#include <string>

#include "localmoe/base/error.h"
#include "localmoe/loader/in_memory_source.h"

namespace localmoe {
namespace {

TEST(WeightBinder, MissingTensorAndWrongShapeAreNamed) {
  Allocator allocator;
  InMemoryTensorSource source(allocator, "tiny-model");
  source.add("a.weight", DType::kF32, Shape{4, 3});
  TransformerWeights weights;
  WeightBinder binder(source, allocator, weights);
  try {
    binder.matrix("b.weight", 4, 3);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
    EXPECT_EQ(std::string(e.what()), "checkpoint 'tiny-model': tensor 'b.weight' is missing");
  }
  try {
    binder.matrix("a.weight", 3, 4);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "checkpoint 'tiny-model': tensor 'a.weight' has shape [4, 3] but config.json "
              "implies [3, 4]");
  }
}

TEST(WeightBinder, RejectsIntegerMatrices) {
  Allocator allocator;
  InMemoryTensorSource source(allocator, "m");
  source.add("w", DType::kI32, Shape{2, 2});
  TransformerWeights weights;
  WeightBinder binder(source, allocator, weights);
  EXPECT_THROW(binder.matrix("w", 2, 2), Error);
}

TEST(WeightBinder, TransposesConv1DAndConvertsVectors) {
  Allocator allocator;
  InMemoryTensorSource source(allocator, "m");
  auto* conv = static_cast<float*>(source.add("c", DType::kF32, Shape{2, 3}));  // [in, out]
  for (int i = 0; i < 6; ++i) conv[i] = float(i);
  auto* bias = static_cast<uint16_t*>(source.add("b", DType::kBF16, Shape{2}));
  bias[0] = f32_to_bf16(1.5f);
  bias[1] = f32_to_bf16(-2.0f);
  TransformerWeights weights;
  WeightBinder binder(source, allocator, weights);
  const kernels::Weight t = binder.matrix_transposed("c", 3, 2);  // [out, in]
  ASSERT_EQ(t.format, kernels::WeightFormat::kF32);
  ASSERT_EQ(t.rows, 3);
  ASSERT_EQ(t.cols, 2);
  const auto* v = static_cast<const float*>(t.data);
  EXPECT_EQ(std::vector<float>(v, v + 6), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  const float* b = binder.vector("b", 2);
  EXPECT_EQ(b[0], 1.5f);
  EXPECT_EQ(b[1], -2.0f);
  EXPECT_EQ(binder.optional_vector("absent", 2), nullptr);
  const kernels::Weight rows = t.row_slice(1, 2);
  EXPECT_EQ(rows.rows, 2);
  EXPECT_EQ(static_cast<const float*>(rows.data)[0], 1.0f);
}

}  // namespace
}  // namespace localmoe
