#pragma once
// Writes small safetensors files for the loader tests: valid ones from a list
// of tensors, and broken ones from a hand-written header.

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace localmoe::testing {

struct TensorSpec {
  std::string name;
  std::string dtype;  // safetensors spelling, may be unknown on purpose
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;  // stored as is; its size sets data_offsets
};

// A well-formed file: tensors laid out back to back in the given order.
std::vector<uint8_t> make_safetensors(const std::vector<TensorSpec>& tensors,
                                      const std::map<std::string, std::string>& metadata = {});

// The 8-byte length of `header_json`, the header itself, then `data`.
std::vector<uint8_t> make_raw_safetensors(std::string_view header_json,
                                          const std::vector<uint8_t>& data);

void write_file(const std::filesystem::path& path, const std::vector<uint8_t>& bytes);
void write_text_file(const std::filesystem::path& path, std::string_view text);

// `count` bytes 0, 1, 2, ... (mod 256) starting at `first`.
std::vector<uint8_t> byte_ramp(size_t count, uint8_t first = 0);

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string file(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace localmoe::testing
