#pragma once
// Opens a Hugging Face safetensors checkpoint, whichever of its layouts is
// on disk, as one TensorSource.

#include <memory>
#include <string>
#include <string_view>

#include "localmoe/loader/tensor_source.h"

namespace localmoe {

inline constexpr std::string_view kSafetensorsFileName = "model.safetensors";
inline constexpr std::string_view kSafetensorsIndexFileName = "model.safetensors.index.json";

// Accepts, in this order of preference:
//   - a directory holding model.safetensors;
//   - a directory holding model.safetensors.index.json (sharded checkpoint:
//     its "weight_map" maps each tensor name to a shard file beside it);
//   - a path to a single .safetensors file, or to a *.safetensors.index.json.
// Every shard is mapped once and fully validated. A sharded source holds
// exactly the tensors of the index. Throws Error (kNotFound, kIo, kCorrupt,
// kUnsupported) naming the file and, where relevant, the tensor.
std::unique_ptr<TensorSource> open_checkpoint(const std::string& model_dir_or_file);

}  // namespace localmoe
