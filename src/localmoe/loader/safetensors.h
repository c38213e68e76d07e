#pragma once
// The safetensors format: an 8-byte little-endian header length N, N bytes of
// JSON describing every tensor (dtype, shape, data_offsets relative to the
// data section), then the data section. A SafetensorsFile maps the file and
// serves zero-copy views; parse_safetensors validates the bytes of a whole
// file and is shared by the mmap'd path and the fuzz target, so what the
// fuzzer exercises is exactly what loads models.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "localmoe/base/mmap_file.h"
#include "localmoe/loader/tensor_source.h"

namespace localmoe {

// The validated contents of a safetensors header.
struct SafetensorsHeader {
  // Sorted by name. `offset` is absolute in the file (header included), so
  // `bytes.data() + offset` is the tensor's first byte; `file` is the path
  // passed to parse_safetensors.
  std::vector<TensorInfo> tensors;
  std::map<std::string, std::string> metadata;  // "__metadata__", may be empty
  size_t data_offset = 0;                       // 8 + header length
};

// Validates `bytes`, the whole content of the file `path`, and returns its
// header. Every tensor is proven to lie inside `bytes`, to have a size equal
// to product(shape) * dtype size and to overlap no other tensor.
// Throws Error (kCorrupt: structure, kUnsupported: unknown dtype or rank > 4)
// whose context names the file and, where one is at fault, the tensor.
SafetensorsHeader parse_safetensors(std::span<const uint8_t> bytes, const std::string& path);

// One mmap'd safetensors file.
class SafetensorsFile : public TensorSource {
 public:
  // Throws Error (kNotFound, kIo, kCorrupt, kUnsupported) naming the file.
  static std::unique_ptr<SafetensorsFile> open(const std::string& path);

  std::vector<std::string> names() const override;
  const TensorInfo* find(std::string_view name) const override;
  TensorView view(std::string_view name) const override;
  const std::string& description() const override { return file_.path(); }

  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  const MappedFile& mapping() const { return file_; }

 private:
  SafetensorsFile(MappedFile file, SafetensorsHeader header)
      : file_(std::move(file)), header_(std::move(header)) {}

  MappedFile file_;
  SafetensorsHeader header_;
};

}  // namespace localmoe
