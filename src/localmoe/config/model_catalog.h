#pragma once
// The models the advisor and the validator know without their files: the
// seeds' models by the numbers of their published config.json, plus any local
// Hugging Face directory read through load_hf_config. A model is its
// architecture (ModelConfig) plus how its checkpoint is stored (16-bit, or
// pre-quantized AWQ / GPTQ / FP8 with its group size).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "localmoe/config/config_enums.h"
#include "localmoe/config/model_config.h"

namespace localmoe {

// How a checkpoint's linear weights are stored (config.json "quantization_config").
struct CheckpointQuantization {
  // kNone = plain floating point weights (torch_dtype); else the pre-quantized format.
  WeightFormat format = WeightFormat::kNone;
  // Bits per quantized weight (4 for AWQ / GPTQ checkpoints as published).
  int64_t bits = 16;
  // Input rows sharing one scale / zero; -1 = one group per output channel.
  int64_t group_size = -1;
};

struct ModelSpec {
  std::string id;  // "meta-llama/Llama-2-70b-chat-hf", or the directory given
  ModelConfig arch;
  CheckpointQuantization checkpoint;
  std::string source;  // where the numbers came from, for the advisor's report
};

// Every model of the catalog.
const std::vector<ModelSpec>& model_catalog();

// A catalog model by id, or by its last path component, case-insensitively
// ("Llama-2-70b-chat-hf" finds "meta-llama/Llama-2-70b-chat-hf").
std::optional<ModelSpec> find_catalog_model(std::string_view id);

// The "quantization_config" of a parsed config.json (kNone when absent).
// Throws Error(kUnsupported) for a method LocalMoE cannot load.
CheckpointQuantization parse_checkpoint_quantization(const nlohmann::json& config_json,
                                                     const std::string& source);

// `model_name` as a directory, as `models_dir / model_name`, or as a catalog id,
// in that order; nullopt when none applies. Throws Error for a directory whose
// config.json is broken.
std::optional<ModelSpec> resolve_model(const std::string& model_name,
                                       const std::filesystem::path& models_dir);

}  // namespace localmoe
