#pragma once
// A weight matrix as the kernels see it: where its bytes are and how they are
// stored. Model code holds Weights and never looks inside; a matrix product
// dispatches on `format` to that format's table entry. A new storage format
// (int8 rows, 4-bit groups, FP8, GGUF blocks) is a new WeightFormat, its side
// tensors here, a table entry and a repacker, never a change in model code.

#include <cstddef>
#include <cstdint>

#include "localmoe/base/dtype.h"
#include "localmoe/base/error.h"
#include "localmoe/base/tensor.h"

namespace localmoe::kernels {

enum class WeightFormat : uint8_t {
  kF32,   // plain f32 rows
  kF16,   // IEEE half rows, widened to f32 in registers
  kBF16,  // bfloat16 rows, widened to f32 in registers
};
inline constexpr int kNumWeightFormats = 3;

// The format of a matrix stored densely in `dtype`; Error(kUnsupported) for
// a dtype no dense format covers (FP8 weights need their scales).
WeightFormat dense_weight_format(DType dtype);
// The element type of a dense format.
DType dense_weight_dtype(WeightFormat format);
const char* weight_format_name(WeightFormat format);

struct Weight {
  WeightFormat format = WeightFormat::kF32;
  int64_t rows = 0;            // output features
  int64_t cols = 0;            // input features
  const void* data = nullptr;  // [rows, cols] row-major in `format`

  bool empty() const { return data == nullptr; }
  // Bytes a product streams: what the decode roofline counts.
  size_t num_bytes() const;
  // The view of a dense weight (embeddings read rows of it).
  TensorView dense_view() const;
  // Rows [begin, begin + count) as their own weight.
  Weight row_slice(int64_t begin, int64_t count) const;

  // A dense [rows, cols] matrix viewed as a weight.
  static Weight dense(const TensorView& view);
};

}  // namespace localmoe::kernels
