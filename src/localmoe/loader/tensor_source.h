#pragma once
// Where a model's tensors come from: a safetensors checkpoint (one file or
// sharded), a GGUF file, or memory (random models for tests and benchmarks).
// Views are zero-copy and stay valid while the source lives.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "localmoe/base/tensor.h"

namespace localmoe {

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  Shape shape;
  std::string file;   // the file holding it ("" for in-memory tensors)
  size_t offset = 0;  // byte offset of the data inside `file`
  size_t num_bytes = 0;
};

class TensorSource {
 public:
  virtual ~TensorSource() = default;

  // All tensor names, sorted.
  virtual std::vector<std::string> names() const = 0;
  // nullptr when there is no tensor of that name.
  virtual const TensorInfo* find(std::string_view name) const = 0;
  // Zero-copy view. Throws Error(kNotFound) naming the tensor and the source.
  virtual TensorView view(std::string_view name) const = 0;
  // Names the source in error messages: a directory or file path.
  virtual const std::string& description() const = 0;
};

}  // namespace localmoe
