#include "localmoe/kernels/weight.h"

namespace localmoe::kernels {

WeightFormat dense_weight_format(DType dtype) {
  switch (dtype) {
    case DType::kF32: return WeightFormat::kF32;
    case DType::kF16: return WeightFormat::kF16;
    case DType::kBF16: return WeightFormat::kBF16;
    default:
      throw make_error(ErrorKind::kUnsupported, "a ", dtype_name(dtype),
                       " matrix has no dense weight format (expected F32, F16 or BF16)");
  }
}

DType dense_weight_dtype(WeightFormat format) {
  switch (format) {
    case WeightFormat::kF32: return DType::kF32;
    case WeightFormat::kF16: return DType::kF16;
    case WeightFormat::kBF16: return DType::kBF16;
  }
  LM_CHECK(false && "unknown weight format");
  return DType::kF32;
}

const char* weight_format_name(WeightFormat format) {
  switch (format) {
    case WeightFormat::kF32: return "f32";
    case WeightFormat::kF16: return "f16";
    case WeightFormat::kBF16: return "bf16";
  }
  return "?";
}

size_t Weight::num_bytes() const {
  return static_cast<size_t>(rows * cols) * dtype_size(dense_weight_dtype(format));
}

TensorView Weight::dense_view() const {
  return TensorView{data, dense_weight_dtype(format), Shape{rows, cols}};
}

Weight Weight::row_slice(int64_t begin, int64_t count) const {
  LM_CHECK(begin >= 0 && count >= 0 && begin + count <= rows);
  const size_t row_bytes = static_cast<size_t>(cols) * dtype_size(dense_weight_dtype(format));
  return Weight{format, count, cols,
                static_cast<const uint8_t*>(data) + static_cast<size_t>(begin) * row_bytes};
}

Weight Weight::dense(const TensorView& view) {
  LM_CHECK_EQ(view.shape.rank(), 2);
  return Weight{dense_weight_format(view.dtype), view.shape[0], view.shape[1], view.data};
}

}  // namespace localmoe::kernels
