#pragma once
// The runtime configuration of LocalMoE: one plain struct per subsystem, each
// field with a default and a comment. Each struct has one `visit_fields` list;
// that list alone drives the YAML loader, `--set` overrides, the command-line
// flags (config/cli_options.h), the field listing (`localmoe validate
// --fields`) and the start-up dump, so a field is declared exactly once. Architecture numbers never
// live here: they come from the model's own files (ModelConfig). Sizes named *_gb are GiB (2^30
// bytes).

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "localmoe/config/config_enums.h"

namespace localmoe {

// `gpu:` — the device memory budget. On the CPU backend it caps engine memory.
struct GpuConfig {
  // Memory of one device in GiB; 0 means "the device's own size" (RAM on the CPU).
  double memory_limit_gb = 0.0;
  // Degrees Celsius; above it /health, stats and metrics carry a warning.
  double temperature_threshold = 80.0;
};

template <typename Self, typename Visitor>
requires std::same_as<std::remove_const_t<Self>, GpuConfig>
void visit_fields(Self& c, Visitor&& v) {
  v("memory_limit_gb", c.memory_limit_gb,
    "memory of one device in GiB; 0 = the device's own size (RAM on the CPU backend)");
  v("temperature_threshold", c.temperature_threshold,
    "degrees Celsius above which /health, stats and metrics warn");
}

// `model:` — runtime choices about the model (never its architecture).
struct ModelRuntimeConfig {
  // Expected expert count; 0 = take it from the checkpoint. Checked against an MoE checkpoint.
  int64_t num_experts = 0;
  // Experts per token; 0 = the checkpoint's value. Checked against an MoE checkpoint.
  int64_t top_k_experts = 0;
  // Seeds' name for engine.max_model_len; when both are given they must agree.
  std::optional<int64_t> max_sequence_length;
  // Weight format the deployment expects; unset = follow engine.quantization.
  std::optional<WeightFormat> quantization_type;
  // Graph compilation; the CPU backend runs without it (accepted for seeds' files).
  bool enable_compilation = true;
};

template <typename Self, typename Visitor>
requires std::same_as<std::remove_const_t<Self>, ModelRuntimeConfig>
void visit_fields(Self& c, Visitor&& v) {
  v("num_experts", c.num_experts,
    "expected expert count, checked against an MoE checkpoint; 0 = checkpoint's");
  v("top_k_experts", c.top_k_experts,
    "experts per token, checked against an MoE checkpoint; 0 = checkpoint's");
  v("max_sequence_length", c.max_sequence_length,
    "alias of engine.max_model_len (must agree when both set)");
  v("quantization_type", c.quantization_type,
    "expected weight format: none|fp16|bf16|fp8|int8|awq|gptq; unset = engine.quantization");
  v("enable_compilation", c.enable_compilation, "graph compilation (no effect on the CPU backend)");
}

// `engine:` (alias `vllm:`) — how one model is served: parallelism, KV cache,
// batching and weight format.
struct EngineConfig {
  // A Hugging Face directory, a .gguf file, or an id resolved under the models directory.
  std::string model_name = "models/demo";
  // Devices one model is split over (heads and FFN sharded).
  int64_t tensor_parallel_size = 1;
  // Fraction of each device's memory the engine may use (weights + activations + KV).
  double gpu_memory_utilization = 0.9;
  // Longest prompt + completion; unset = the model's max_position_embeddings.
  std::optional<int64_t> max_model_len;
  // Tokens per KV block (8, 16, 32, 64 or 128).
  int64_t block_size = 16;
  // GiB of host memory for preempted KV blocks.
  double swap_space = 4.0;
  // KV blocks to allocate instead of what the memory budget leaves (vLLM's
  // num_gpu_blocks_override); unset = from the budget.
  std::optional<int64_t> num_gpu_blocks_override;
  // Token budget of one engine step (prefill chunks + decodes).
  int64_t max_num_batched_tokens = 8192;
  // Sequences running at once.
  int64_t max_num_seqs = 256;
  // Reuse KV blocks of identical prompt prefixes (hashed full blocks).
  bool enable_prefix_caching = true;
  // Split long prompts over several steps so decodes keep running.
  bool enable_chunked_prefill = true;
  // Largest prefill chunk of one request per step; 0 = up to max_num_batched_tokens.
  int64_t max_chunked_prefill_tokens = 0;
  // Weight quantization; unset = the checkpoint's own format.
  std::optional<Quantization> quantization;
  // Element type of the KV cache; auto = the activation dtype (16-bit).
  KvCacheDtype kv_cache_dtype = KvCacheDtype::kAuto;
  // JSON file with per-layer FP8 KV scales; unset = scale 1.0.
  std::optional<std::string> quantization_param_path;
  // Never honoured: LocalMoE runs no code shipped with a model.
  bool trust_remote_code = false;
  // Checkpoint format; auto = by file name (.gguf) or directory contents.
  LoadFormat load_format = LoadFormat::kAuto;
};

template <typename Self, typename Visitor>
requires std::same_as<std::remove_const_t<Self>, EngineConfig>
void visit_fields(Self& c, Visitor&& v) {
  v("model_name", c.model_name,
    "Hugging Face directory, .gguf file, or id under the models directory");
  v("tensor_parallel_size", c.tensor_parallel_size, "devices one model is split over");
  v("gpu_memory_utilization", c.gpu_memory_utilization,
    "fraction of each device's memory for weights + activations + KV cache, in (0, 1]");
  v("max_model_len", c.max_model_len, "longest prompt + completion; unset = the model's limit");
  v("block_size", c.block_size, "tokens per KV block: 8, 16, 32, 64 or 128");
  v("swap_space", c.swap_space, "GiB of host memory for preempted KV blocks");
  v("num_gpu_blocks_override", c.num_gpu_blocks_override,
    "KV blocks to allocate instead of what the memory budget leaves; unset = from the budget");
  v("max_num_batched_tokens", c.max_num_batched_tokens, "token budget of one engine step");
  v("max_num_seqs", c.max_num_seqs, "sequences running at once");
  v("enable_prefix_caching", c.enable_prefix_caching,
    "reuse KV blocks of identical prompt prefixes");
  v("enable_chunked_prefill", c.enable_chunked_prefill, "split long prompts over several steps");
  v("max_chunked_prefill_tokens", c.max_chunked_prefill_tokens,
    "largest prefill chunk of one request per step; 0 = max_num_batched_tokens");
  v("quantization", c.quantization, "null|fp8|int8|awq|gptq; null = the checkpoint's format");
  v("kv_cache_dtype", c.kv_cache_dtype, "auto|fp16|bf16|fp8_e4m3|fp8_e5m2 (fp8 = fp8_e4m3)");
  v("quantization_param_path", c.quantization_param_path, "JSON with FP8 KV-cache scales");
  v("trust_remote_code", c.trust_remote_code, "must be false: no code from a model is ever run");
  v("load_format", c.load_format, "auto|safetensors|gguf");
}

// One element of `instances:` (alias `vllm_instances:`): a model served next to
// others. Its engine settings start from the top-level `engine:` section and
// any engine key written in the instance overrides them.
struct InstanceConfig {
  // Name under which the model is served; empty = the model_name.
  std::string name;
  // Device indices this instance owns; empty = devices 0..tensor_parallel_size-1.
  std::vector<int64_t> gpu_devices;
  // How this model is served: `engine:` with the instance's own engine keys applied.
  EngineConfig engine;
};

template <typename Self, typename Visitor>
requires std::same_as<std::remove_const_t<Self>, InstanceConfig>
void visit_fields(Self& c, Visitor&& v) {
  v("name", c.name, "served model name; empty = model_name");
  v("gpu_devices", c.gpu_devices, "device indices owned by this instance");
  visit_fields(c.engine, v);
}

// `server:` — the HTTP front end.
struct ServerConfig {
  // Interface to bind.
  std::string host = "127.0.0.1";
  // TCP port; 0 = any free port (printed at start-up).
  int64_t port = 8000;
  // Bearer token required from clients; unset = open. LOCALMOE_API_KEY overrides it.
  std::optional<std::string> api_key;
  // Largest accepted request body; larger ones get HTTP 413.
  int64_t max_request_body_bytes = 8 << 20;
  // Requests waiting for the engine; beyond it HTTP 429.
  int64_t max_queued_requests = 1024;
  // Threads serving HTTP connections.
  int64_t num_http_threads = 4;
};

template <typename Self, typename Visitor>
requires std::same_as<std::remove_const_t<Self>, ServerConfig>
void visit_fields(Self& c, Visitor&& v) {
  v("host", c.host, "interface to bind");
  v("port", c.port, "TCP port; 0 = any free port");
  v("api_key", c.api_key, "bearer token clients must send; env LOCALMOE_API_KEY overrides");
  v("max_request_body_bytes", c.max_request_body_bytes, "largest request body (HTTP 413 above)");
  v("max_queued_requests", c.max_queued_requests,
    "requests waiting for the engine (HTTP 429 above)");
  v("num_http_threads", c.num_http_threads, "threads serving HTTP connections");
}

// `moe:` — the expert cache of MoE models (SPEC section 5). Ignored for dense models.
struct MoeConfig {
  // GiB of device memory for resident experts per device; 0 = keep every expert resident.
  double expert_cache_gb = 0.0;
  // Fetch the next layer's likely experts while attention runs.
  bool prefetch = true;
  // Experts of the next layer to prefetch; 0 = the model's experts per token.
  int64_t prefetch_experts = 0;
  // How experts are spread over devices.
  ExpertPlacement placement = ExpertPlacement::kUsageBalanced;
};

template <typename Self, typename Visitor>
requires std::same_as<std::remove_const_t<Self>, MoeConfig>
void visit_fields(Self& c, Visitor&& v) {
  v("expert_cache_gb", c.expert_cache_gb, "GiB per device for resident experts; 0 = all resident");
  v("prefetch", c.prefetch, "prefetch the next layer's likely experts");
  v("prefetch_experts", c.prefetch_experts, "experts prefetched per layer; 0 = experts per token");
  v("placement", c.placement, "round_robin|usage_balanced");
}

// `runtime:` — process-wide settings: the CPU backend's threads and kernel
// variant, and the log level.
struct RuntimeConfig {
  // Threads of the compute pool; 0 = one per core.
  int64_t num_threads = 0;
  // Kernel variant: best (chosen from the CPU's features), generic (the scalar
  // reference) or a SIMD target such as AVX2; checked when the kernels start.
  std::string kernels = "best";
  // Least severe message logged.
  LogLevel log_level = LogLevel::kInfo;
};

template <typename Self, typename Visitor>
requires std::same_as<std::remove_const_t<Self>, RuntimeConfig>
void visit_fields(Self& c, Visitor&& v) {
  v("num_threads", c.num_threads, "threads of the compute pool; 0 = one per core");
  v("kernels", c.kernels, "kernel variant: best, generic, or a SIMD target such as AVX2");
  v("log_level", c.log_level, "least severe message logged: trace|debug|info|warn|error|off");
}

// The whole configuration, as loaded and validated once at start-up and then
// passed by const reference.
struct Config {
  GpuConfig gpu;
  ModelRuntimeConfig model;
  EngineConfig engine;
  // Several models served at once; empty = the one model of `engine:`.
  std::vector<InstanceConfig> instances;
  ServerConfig server;
  MoeConfig moe;
  RuntimeConfig runtime;
  // Where it came from ("configs/x.yaml:profile"), for the start-up dump.
  std::string source;

  // The served models: `instances`, or one instance made of `engine`.
  std::vector<InstanceConfig> served_instances() const;
};

// The sections made of plain fields, in file order: v(name, section). `instances`
// is a list and is handled on its own.
template <typename Self, typename Visitor>
requires std::same_as<std::remove_const_t<Self>, Config>
void visit_sections(Self& c, Visitor&& v) {
  v("gpu", c.gpu);
  v("model", c.model);
  v("engine", c.engine);
  v("server", c.server);
  v("moe", c.moe);
  v("runtime", c.runtime);
}

}  // namespace localmoe
