#include "localmoe/loader/in_memory_source.h"

#include <utility>

#include "localmoe/base/error.h"

namespace localmoe {

void* InMemoryTensorSource::add(std::string name, DType dtype, Shape shape) {
  for (int axis = 0; axis < shape.rank(); ++axis) LM_CHECK_GE(shape[axis], 0);
  if (tensors_.find(name) != tensors_.end()) {
    throw make_error(ErrorKind::kInvalidArgument, "tensor '", name, "' is already in '",
                     description_, "'");
  }
  Entry entry;
  entry.info.name = name;
  entry.info.dtype = dtype;
  entry.info.shape = shape;
  entry.info.num_bytes = static_cast<size_t>(shape.num_elements()) * dtype_size(dtype);
  entry.buffer = allocator_.allocate(entry.info.num_bytes, MemoryCategory::kWeights);
  void* data = entry.buffer.data();
  tensors_.emplace(std::move(name), std::move(entry));
  return data;
}

std::vector<std::string> InMemoryTensorSource::names() const {
  std::vector<std::string> names;
  names.reserve(tensors_.size());
  for (const auto& entry : tensors_) names.push_back(entry.first);
  return names;
}

const TensorInfo* InMemoryTensorSource::find(std::string_view name) const {
  const auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second.info;
}

TensorView InMemoryTensorSource::view(std::string_view name) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    throw make_error(ErrorKind::kNotFound, "no tensor '", name, "' in '", description_, "'");
  }
  TensorView view;
  view.data = it->second.buffer.data();
  view.dtype = it->second.info.dtype;
  view.shape = it->second.info.shape;
  return view;
}

}  // namespace localmoe
