#pragma once
// A model ready to serve, built from one configuration: its weights, its
// tokenizer (when the directory has one), a KV cache sized by the memory
// budget of kv/kv_cache_budget.h, and the engine over them, with the memory
// they take, exactly. What `generate` and `bench` run on, and what the server
// holds one of per served model.

#include <cstdint>
#include <memory>
#include <string>

#include "localmoe/base/allocator.h"
#include "localmoe/base/thread_pool.h"
#include "localmoe/config/config.h"
#include "localmoe/engine/engine.h"
#include "localmoe/kernels/kernels.h"
#include "localmoe/kv/kv_cache_budget.h"
#include "localmoe/model/transformer.h"
#include "localmoe/tokenizer/tokenizer.h"

namespace localmoe {

// Where a served model's memory goes, in bytes. The budget is
// gpu.memory_limit_gb (or the machine's RAM) x engine.gpu_memory_utilization;
// weights + workspace + kv_cache never exceed it unless the KV block count
// was set explicitly (engine.num_gpu_blocks_override).
struct ServedModelMemory {
  int64_t budget = 0;
  int64_t weights = 0;    // every checkpoint tensor (mapped from the file)
  int64_t workspace = 0;  // activations and scratch of one step
  int64_t kv_cache = 0;   // all KV blocks, allocated up front
  int64_t kv_swap = 0;    // host swap area for preempted blocks
  int64_t kv_block_bytes = 0;
  int64_t kv_blocks = 0;
  int64_t kv_host_blocks = 0;
};

class ServedModel {
 public:
  // Loads config.engine.model_name with the runtime's `kernels` and `pool`
  // (both must outlive it). Throws Error naming the file, tensor or
  // configuration key for anything that cannot work (no memory left for the
  // KV cache, a max_model_len beyond the model's, an unsupported KV dtype).
  ServedModel(const Config& config, const kernels::Kernels& kernels, ThreadPool& pool);
  ~ServedModel();
  ServedModel(const ServedModel&) = delete;
  ServedModel& operator=(const ServedModel&) = delete;

  const std::string& name() const { return name_; }
  Engine& engine() { return *engine_; }
  const Engine& engine() const { return *engine_; }
  const Transformer& model() const { return *model_; }
  // Null when the model directory has no tokenizer: prompts are token ids.
  const Tokenizer* tokenizer() const { return tokenizer_.get(); }
  DType kv_cache_dtype() const { return kv_dtype_; }
  const KvCacheCapacity& kv_capacity() const { return capacity_; }
  const ServedModelMemory& memory() const { return memory_; }
  double load_seconds() const { return load_seconds_; }

 private:
  std::string name_;
  Allocator allocator_;
  std::unique_ptr<Transformer> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  DType kv_dtype_ = DType::kF32;
  KvCacheCapacity capacity_;
  ServedModelMemory memory_;
  std::unique_ptr<Engine> engine_;
  double load_seconds_ = 0.0;
};

// engine.max_model_len checked against the model's context (the model's
// when unset). Throws Error(kInvalidArgument) naming both lengths.
int64_t resolve_max_model_len(const EngineConfig& engine, const ModelConfig& model);

}  // namespace localmoe
