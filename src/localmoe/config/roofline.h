#pragma once
// Upper bounds on decode speed from the hardware's two roofs: every step reads
// the weights one device holds (plus the KV of every running sequence) at the
// memory bandwidth, and performs 2 FLOPs per active parameter per token at the
// tensor-core peak. Real kernels reach a fraction of either; these numbers say
// which roof a deployment is under and how far quantization moves it.

#include <cstdint>

#include "localmoe/config/hardware.h"
#include "localmoe/config/memory_model.h"

namespace localmoe {

struct DecodeRoofline {
  int64_t batch = 1;             // sequences decoded per step
  int64_t context = 0;           // tokens of KV each sequence reads
  double bytes_per_step = 0;     // per device
  double flops_per_step = 0;     // per device
  double memory_seconds = 0;     // bytes / bandwidth
  double compute_seconds = 0;    // flops / peak (0 when the peak is unknown)
  double tokens_per_second = 0;  // batch / max(memory, compute) seconds
  bool compute_bound = false;
};

// `kv_bytes_per_token` is per device (memory_model's kv_bytes_per_token).
DecodeRoofline decode_roofline(const ModelConfig& model, const WeightLayout& layout,
                               int64_t tensor_parallel_size, int64_t kv_bytes_per_token,
                               const HardwareSpec& hardware, int64_t batch, int64_t context);

}  // namespace localmoe
