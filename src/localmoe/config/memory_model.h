#pragma once
// How much memory a deployment needs, per device, following vLLM's
// accounting: the engine may use gpu_memory_utilization x device memory;
// from that come the weights (its tensor-parallel shard), the activation peak
// of one max_num_batched_tokens step and the runtime's fixed overhead; what
// is left becomes KV blocks. All figures are bytes unless named otherwise.

#include <cstdint>
#include <optional>
#include <string>

#include "localmoe/config/config_enums.h"
#include "localmoe/config/model_catalog.h"
#include "localmoe/config/model_config.h"

namespace localmoe {

inline constexpr double kBytesPerGiB = 1024.0 * 1024.0 * 1024.0;
// "12.34 GiB": how every memory figure is printed.
std::string format_gib(double bytes);

// How the linear weights are stored while serving. Embeddings, lm_head,
// norms, biases and MoE routers stay 16-bit in every format, as AWQ, GPTQ and
// vLLM's FP8 / INT8 paths leave them.
struct WeightLayout {
  WeightFormat format = WeightFormat::kNone;  // kNone / kFp16 / kBf16: 16-bit
  int64_t bits = 16;                          // 4 or 8 for AWQ / GPTQ
  int64_t group_size = -1;                    // AWQ / GPTQ rows per scale; -1 = per channel
};

// The layout that serving `checkpoint` with `quantization` (nullopt = as
// stored) produces.
WeightLayout serving_layout(const CheckpointQuantization& checkpoint,
                            const std::optional<Quantization>& quantization);

// "16-bit", "fp8", "int8", "awq 4-bit g128", "gptq 4-bit per-channel".
std::string weight_layout_name(const WeightLayout& layout);

struct WeightBytes {
  int64_t parameters = 0;                  // parameter count of the model
  int64_t total = 0;                       // bytes of all weights, all devices together
  int64_t per_device = 0;                  // bytes one device holds under tensor parallelism
  int64_t expert_total = 0;                // MoE expert FFN weights (part of total)
  int64_t expert_per_device = 0;           // their share on one device
  int64_t embedding_total = 0;             // input embedding + lm_head (+ GPT-2 positions), 16-bit
  int64_t expert_parameters = 0;           // parameters inside experts
  int64_t input_embedding_parameters = 0;  // looked up, not multiplied
};

WeightBytes weight_bytes(const ModelConfig& model, const WeightLayout& layout,
                         int64_t tensor_parallel_size);

// KV heads one device holds: num_kv_heads / tp, or 1 when tp exceeds it
// (the heads are then replicated, as vLLM does).
int64_t kv_heads_per_device(const ModelConfig& model, int64_t tensor_parallel_size);

// Bytes of K and V for one token on one device, all layers.
int64_t kv_bytes_per_token(const ModelConfig& model, KvCacheDtype dtype,
                           int64_t tensor_parallel_size);

// Peak activation bytes of one forward over `num_batched_tokens` tokens of
// which `num_seqs` produce logits, on one device (16-bit activations, float32
// logits over the full vocabulary).
int64_t activation_bytes(const ModelConfig& model, int64_t tensor_parallel_size,
                         int64_t num_batched_tokens, int64_t num_seqs);

struct MemoryRequest {
  ModelConfig model;
  WeightLayout layout;
  int64_t tensor_parallel_size = 1;
  KvCacheDtype kv_cache_dtype = KvCacheDtype::kAuto;
  int64_t block_size = 16;
  int64_t max_model_len = 4096;
  int64_t max_num_batched_tokens = 8192;
  int64_t max_num_seqs = 256;
  int64_t device_memory_bytes = 0;  // one device
  double memory_utilization = 0.9;
  int64_t runtime_overhead_bytes = 0;  // per device
  int64_t expert_cache_bytes = 0;      // per device; 0 = every expert resident
};

struct MemoryEstimate {
  WeightBytes weights;
  int64_t resident_weight_bytes =
      0;                         // per device: weights minus experts left to the cache's cold tier
  int64_t activation_bytes = 0;  // per device
  int64_t overhead_bytes = 0;    // per device
  int64_t budget_bytes = 0;      // utilization x device memory
  int64_t kv_bytes = 0;          // budget left for KV blocks (negative: weights do not fit)
  int64_t kv_bytes_per_token = 0;  // per device
  int64_t kv_blocks = 0;
  int64_t kv_capacity_tokens = 0;     // kv_blocks x block_size
  int64_t tokens_per_sequence = 0;    // KV one full-length sequence keeps (sliding window caps it)
  int64_t kv_capacity_sequences = 0;  // full-length sequences that fit at once
  bool weights_fit = false;           // weights + activations + overhead within the budget
  bool fits = false;                  // and room for at least one full-length sequence
};

MemoryEstimate estimate_memory(const MemoryRequest& request);

}  // namespace localmoe
