#include "localmoe/loader/checkpoint.h"

#include <filesystem>
#include <system_error>

#include "localmoe/base/error.h"
#include "localmoe/loader/safetensors.h"
#include "localmoe/loader/sharded_checkpoint.h"

namespace localmoe {

std::unique_ptr<TensorSource> open_checkpoint(const std::string& model_dir_or_file) {
  namespace fs = std::filesystem;
  const fs::path path(model_dir_or_file);
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found) {
    throw make_error(ErrorKind::kNotFound, "checkpoint '", model_dir_or_file, "' does not exist");
  }
  if (ec) {
    throw make_error(ErrorKind::kIo, "cannot stat '", model_dir_or_file, "': ", ec.message());
  }
  if (fs::is_directory(status)) {
    const fs::path single = path / kSafetensorsFileName;
    if (fs::exists(single, ec)) return SafetensorsFile::open(single.string());
    const fs::path index = path / kSafetensorsIndexFileName;
    if (fs::exists(index, ec)) return ShardedCheckpoint::open(index.string());
    throw make_error(ErrorKind::kNotFound, "directory '", model_dir_or_file, "' holds neither ",
                     kSafetensorsFileName, " nor ", kSafetensorsIndexFileName);
  }
  if (model_dir_or_file.ends_with(".index.json")) return ShardedCheckpoint::open(model_dir_or_file);
  return SafetensorsFile::open(model_dir_or_file);
}

}  // namespace localmoe
