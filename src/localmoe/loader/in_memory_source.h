#pragma once
// Tensors held in memory rather than read from files: tests and benchmarks
// build random models with it. Buffers come from the engine's Allocator
// (MemoryCategory::kWeights), so memory statistics see them.

#include <map>
#include <string>

#include "localmoe/base/allocator.h"
#include "localmoe/loader/tensor_source.h"

namespace localmoe {

class InMemoryTensorSource : public TensorSource {
 public:
  explicit InMemoryTensorSource(Allocator& allocator, std::string description = "in-memory tensors")
      : allocator_(allocator), description_(std::move(description)) {}

  // Adds a tensor and returns its zeroed, writable, 64-byte aligned buffer of
  // product(shape) * dtype_size(dtype) bytes, valid while the source lives
  // (nullptr when the shape has no elements).
  // Throws Error(kInvalidArgument) when `name` is already taken.
  void* add(std::string name, DType dtype, Shape shape);

  std::vector<std::string> names() const override;
  const TensorInfo* find(std::string_view name) const override;
  TensorView view(std::string_view name) const override;
  const std::string& description() const override { return description_; }

 private:
  struct Entry {
    TensorInfo info;
    AlignedBuffer buffer;  // empty for tensors with no elements
  };

  Allocator& allocator_;
  std::string description_;
  std::map<std::string, Entry, std::less<>> tensors_;
};

}  // namespace localmoe
