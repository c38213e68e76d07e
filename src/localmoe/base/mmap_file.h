#pragma once
// A read-only memory mapping of a whole file. Checkpoint tensors are views
// into it, so loading costs no copy and untouched weights cost no RAM.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace localmoe {

class MappedFile {
 public:
  // Throws Error(kIo / kNotFound) naming the path.
  static MappedFile open(const std::string& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept { *this = std::move(other); }
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace localmoe
