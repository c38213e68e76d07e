#include "localmoe/engine/served_model.h"

#include <chrono>

#include "localmoe/base/error.h"
#include "localmoe/base/logging.h"
#include "localmoe/config/hardware.h"
#include "localmoe/config/memory_model.h"
#include "localmoe/model/model_loader.h"

namespace localmoe {
namespace {

// `auto` is the activation dtype, F32 on the CPU backend: keys and values
// exactly as computed (fp16 / bf16 halve the cache for a rounding of each).
// FP8 needs the quantized attention path.
DType kv_dtype_for(const EngineConfig& engine) {
  const DType dtype = resolve_kv_cache_dtype(engine.kv_cache_dtype, DType::kF32);
  if (dtype == DType::kF8E4M3 || dtype == DType::kF8E5M2) {
    throw make_error(ErrorKind::kUnsupported, "engine.kv_cache_dtype: ", dtype_name(dtype),
                     " KV blocks are not supported yet; use auto, fp16 or bf16");
  }
  return dtype;
}

}  // namespace

int64_t resolve_max_model_len(const EngineConfig& engine, const ModelConfig& model) {
  const int64_t limit = model.max_position_embeddings;
  if (!engine.max_model_len) return limit;
  if (*engine.max_model_len > limit) {
    throw make_error(ErrorKind::kInvalidArgument, "engine.max_model_len ", *engine.max_model_len,
                     " exceeds the model's context of ", limit,
                     " tokens (max_position_embeddings in config.json)");
  }
  return *engine.max_model_len;
}

ServedModel::ServedModel(const Config& config, const kernels::Kernels& kernels, ThreadPool& pool)
    : name_(config.engine.model_name) {
  const EngineConfig& engine = config.engine;
  const auto start = std::chrono::steady_clock::now();
  model_ = load_transformer(name_, engine.max_num_batched_tokens, engine.block_size, kernels,
                            allocator_, pool);
  try {
    tokenizer_ = load_tokenizer(name_);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kNotFound) throw;
    log_info("model '", name_, "' has no tokenizer: prompts must be token ids (", e.what(), ")");
  }
  const ModelConfig& model = model_->config();
  const int64_t max_model_len = resolve_max_model_len(engine, model);
  kv_dtype_ = kv_dtype_for(engine);

  memory_.weights = static_cast<int64_t>(model_->weight_bytes());
  memory_.workspace = static_cast<int64_t>(allocator_.bytes_in_use(MemoryCategory::kWorkspace));
  const KvCacheBudget budget = KvCacheBudget::from_config(
      config.gpu, engine, local_ram_bytes(), memory_.weights, memory_.workspace, max_model_len);
  const KvCacheLayout layout = model_->kv_layout(kv_dtype_);
  capacity_ = plan_kv_cache(layout, budget);
  engine_ = std::make_unique<Engine>(*model_, tokenizer_.get(), engine, capacity_, kv_dtype_,
                                     max_model_len, allocator_);

  // The engine's own buffers (logits rows, sampler scratch) count as workspace too.
  memory_.workspace = static_cast<int64_t>(allocator_.bytes_in_use(MemoryCategory::kWorkspace));
  memory_.budget = static_cast<int64_t>(static_cast<double>(budget.device_memory_bytes) *
                                        budget.memory_utilization);
  memory_.kv_cache = capacity_.device_bytes();
  memory_.kv_swap = capacity_.host_bytes();
  memory_.kv_block_bytes = capacity_.bytes_per_block;
  memory_.kv_blocks = capacity_.num_blocks;
  memory_.kv_host_blocks = capacity_.num_host_blocks;
  load_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  log_info("model '", name_, "': weights ", format_gib(static_cast<double>(memory_.weights)),
           ", workspace ", format_gib(static_cast<double>(memory_.workspace)), ", KV cache ",
           capacity_.num_blocks, " blocks of ", capacity_.block_size, " tokens in ",
           dtype_name(kv_dtype_), " (", capacity_.num_tokens(), " tokens, ",
           format_gib(static_cast<double>(memory_.kv_cache)), ") of a budget of ",
           format_gib(static_cast<double>(memory_.budget)), "; max_model_len ", max_model_len);
}

ServedModel::~ServedModel() = default;

}  // namespace localmoe
