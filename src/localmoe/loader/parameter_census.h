#pragma once
// Counts a checkpoint's parameters by part of the network, from tensor names
// alone (Llama / Mistral / Mixtral and GPT-2 naming schemes), and its bytes
// by dtype. `localmoe inspect` prints it; it needs no config and no model.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "localmoe/loader/tensor_source.h"

namespace localmoe {

enum class ParameterPart {
  kEmbeddings,  // token (and learned position) embeddings
  kAttention,   // q/k/v/o projections and their biases
  kMlp,         // dense feed-forward blocks
  kExperts,     // MoE expert feed-forward blocks
  kRouter,      // MoE gates
  kNorms,       // RMSNorm / LayerNorm weights and biases
  kLmHead,      // the output projection (absent when tied to the embeddings)
  kOther,       // anything else (rotary caches, attention-mask buffers, ...)
};
inline constexpr int kNumParameterParts = 8;
std::string_view parameter_part_name(ParameterPart part);

// Which part a tensor belongs to, by its name.
ParameterPart classify_tensor(std::string_view name);

struct DTypeTally {
  DType dtype = DType::kF32;
  int64_t num_tensors = 0;
  size_t num_bytes = 0;
};

struct ParameterCensus {
  // Elements as stored (a packed quantized tensor counts its packed words).
  std::array<int64_t, kNumParameterParts> num_params{};
  std::vector<DTypeTally> dtypes;  // the dtypes present, in DType order
  int64_t num_tensors = 0;
  int64_t total_params = 0;
  size_t total_bytes = 0;

  int64_t params(ParameterPart part) const { return num_params[static_cast<int>(part)]; }
};

ParameterCensus take_parameter_census(const TensorSource& source);

}  // namespace localmoe
