#pragma once
// A non-owning, read-only view of a contiguous row-major tensor: weights
// mmap'd from a checkpoint or held in an AlignedBuffer.

#include <cstddef>
#include <cstdint>

#include "localmoe/base/dtype.h"
#include "localmoe/base/shape.h"

namespace localmoe {

struct TensorView {
  const void* data = nullptr;
  DType dtype = DType::kF32;
  Shape shape;

  bool empty() const { return data == nullptr; }
  int64_t num_elements() const { return shape.num_elements(); }
  size_t num_bytes() const { return static_cast<size_t>(num_elements()) * dtype_size(dtype); }

  template <typename T>
  const T* as() const {
    return static_cast<const T*>(data);
  }
  // Rows of a 2-D (or leading-dim-flattened) tensor.
  int64_t rows() const { return shape.rank() == 0 ? 1 : num_elements() / shape[shape.rank() - 1]; }
  int64_t cols() const { return shape.rank() == 0 ? 1 : shape[shape.rank() - 1]; }
  const void* row(int64_t r) const {
    return static_cast<const uint8_t*>(data) + static_cast<size_t>(r * cols()) * dtype_size(dtype);
  }
};

}  // namespace localmoe
