#include "localmoe/model/weights.h"

#include <cstring>

#include "localmoe/base/error.h"

namespace localmoe {

const TensorInfo& WeightBinder::require(std::string_view name) const {
  const TensorInfo* info = source_.find(name);
  if (info == nullptr) {
    throw make_error(ErrorKind::kNotFound, "tensor '", name, "' is missing")
        .with_context("checkpoint '" + source_.description() + "'");
  }
  return *info;
}

void WeightBinder::check_shape(const TensorInfo& info, const Shape& expected) const {
  if (!(info.shape == expected)) {
    throw make_error(ErrorKind::kInvalidArgument, "tensor '", info.name, "' has shape ",
                     info.shape.to_string(), " but config.json implies ", expected.to_string())
        .with_context("checkpoint '" + source_.description() + "'");
  }
}

TensorView WeightBinder::matrix(std::string_view name, int64_t rows, int64_t cols) {
  const TensorInfo& info = require(name);
  check_shape(info, Shape{rows, cols});
  if (info.dtype != DType::kF32 && info.dtype != DType::kF16 && info.dtype != DType::kBF16) {
    throw make_error(ErrorKind::kUnsupported, "tensor '", name, "' is ", dtype_name(info.dtype),
                     "; matrices must be F32, F16 or BF16")
        .with_context("checkpoint '" + source_.description() + "'");
  }
  return source_.view(name);
}

kernels::Weight WeightBinder::matrix_transposed(std::string_view name, int64_t rows, int64_t cols) {
  const TensorView stored = matrix(name, cols, rows);
  const size_t element = dtype_size(stored.dtype);
  AlignedBuffer buffer =
      allocator_.allocate(static_cast<size_t>(rows * cols) * element, MemoryCategory::kWeights);
  const auto* src = static_cast<const uint8_t*>(stored.data);
  auto* dst = buffer.as<uint8_t>();
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      std::memcpy(dst + (r * cols + c) * element, src + (c * rows + r) * element, element);
    }
  }
  const TensorView view{buffer.data(), stored.dtype, Shape{rows, cols}};
  weights_.repacked.push_back(std::move(buffer));
  return kernels::Weight::dense(view);
}

const float* WeightBinder::vector(std::string_view name, int64_t size) {
  const TensorInfo& info = require(name);
  check_shape(info, Shape{size});
  if (!is_floating(info.dtype)) {
    throw make_error(ErrorKind::kUnsupported, "tensor '", name, "' is ", dtype_name(info.dtype),
                     "; expected a floating-point vector")
        .with_context("checkpoint '" + source_.description() + "'");
  }
  const TensorView stored = source_.view(name);
  AlignedBuffer buffer =
      allocator_.allocate(static_cast<size_t>(size) * sizeof(float), MemoryCategory::kWeights);
  float* out = buffer.as<float>();
  for (int64_t i = 0; i < size; ++i) out[i] = load_as_f32(stored.data, stored.dtype, i);
  weights_.repacked.push_back(std::move(buffer));
  return out;
}

}  // namespace localmoe
