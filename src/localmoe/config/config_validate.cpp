#include "localmoe/config/config_validate.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "localmoe/config/config_fields.h"
#include "localmoe/config/memory_model.h"

namespace localmoe {
namespace {

// Upper limits that keep the memory arithmetic far from int64 overflow while
// exceeding any real deployment (a PiB of memory, 16M tokens of context).
constexpr double kMaxGiB = 1024.0 * 1024.0;
constexpr int64_t kMaxTokens = int64_t{1} << 24;
constexpr int64_t kMaxSeqs = int64_t{1} << 20;
// Beyond the cores of any machine we run on; the pool would start them all.
constexpr int64_t kMaxThreads = 1024;

std::string divisors_up_to(int64_t n, int64_t limit) {
  std::string out;
  for (int64_t d = 1; d <= std::min(n, limit); ++d) {
    if (n % d) continue;
    if (!out.empty()) out += ", ";
    out += std::to_string(d);
  }
  return out;
}

// The weight format a 16-bit-or-quantized deployment declares in model.quantization_type.
WeightFormat declared_format(const std::optional<Quantization>& q) {
  return q ? weight_format_of(*q) : WeightFormat::kNone;
}

bool same_family(WeightFormat a, WeightFormat b) {
  auto sixteen = [](WeightFormat f) {
    return f == WeightFormat::kNone || f == WeightFormat::kFp16 || f == WeightFormat::kBf16;
  };
  return a == b || (sixteen(a) && sixteen(b));
}

class Validator {
 public:
  Validator(const Config& config, const ValidationContext& context) : c_(config), ctx_(context) {}

  std::vector<ConfigDiagnostic> run() {
    check_gpu();
    check_model_section();
    check_server();
    check_moe_ranges();
    check_runtime();
    if (c_.instances.empty()) {
      check_engine(c_.engine, "engine");
    } else {
      check_instances();
    }
    return std::move(out_);
  }

 private:
  // ---- reporting ------------------------------------------------------------

  // The key as written: `prefix.field` when the instance wrote it, else the
  // top-level engine key it inherited.
  std::string key_of(const std::string& prefix, const std::string& field) const {
    const std::string own = prefix + "." + field;
    if (prefix == "engine" || written(own)) return own;
    return "engine." + field;
  }

  bool written(const std::string& key) const { return ctx_.sources && ctx_.sources->count(key); }

  SourceLocation where(const std::string& key) const {
    if (ctx_.sources) {
      if (auto it = ctx_.sources->find(key); it != ctx_.sources->end()) return it->second;
    }
    return ctx_.fallback;
  }

  bool failed(const std::string& key) const { return ctx_.failed_keys.count(key) > 0; }

  void error(const std::string& key, std::string message) {
    add(Severity::kError, key, std::move(message));
  }
  void notice(const std::string& key, std::string message) {
    add(Severity::kNotice, key, std::move(message));
  }

  void add(Severity severity, const std::string& key, std::string message) {
    if (failed(key)) return;
    ConfigDiagnostic d{severity, where(key), key, std::move(message)};
    // Inherited engine keys are checked once per instance; report each finding once.
    for (const ConfigDiagnostic& seen : out_) {
      if (seen.key == d.key && seen.message == d.message && seen.severity == d.severity) return;
    }
    out_.push_back(std::move(d));
  }

  // ---- sections -------------------------------------------------------------

  void check_gpu() {
    if (c_.gpu.memory_limit_gb < 0 || c_.gpu.memory_limit_gb > kMaxGiB) {
      error("gpu.memory_limit_gb", "must be in [0, 1048576] GiB (0 = the device's own size), got " +
                                       to_yaml_text(c_.gpu.memory_limit_gb));
    }
    if (c_.gpu.temperature_threshold <= 0 || c_.gpu.temperature_threshold > 125) {
      error("gpu.temperature_threshold", "must be in (0, 125] degrees Celsius, got " +
                                             to_yaml_text(c_.gpu.temperature_threshold));
    }
  }

  void check_runtime() {
    const RuntimeConfig& r = c_.runtime;
    if (r.num_threads < 0 || r.num_threads > kMaxThreads) {
      error("runtime.num_threads", "must be in [0, " + std::to_string(kMaxThreads) +
                                       "] (0 = one per core), got " +
                                       std::to_string(r.num_threads));
    }
    if (r.kernels.empty()) {
      error("runtime.kernels", "must name a kernel variant: best, generic, or a SIMD target");
    }
  }

  void check_model_section() {
    const ModelRuntimeConfig& m = c_.model;
    if (m.num_experts < 0)
      error("model.num_experts", "must be >= 0, got " + std::to_string(m.num_experts));
    if (m.top_k_experts < 0)
      error("model.top_k_experts", "must be >= 0, got " + std::to_string(m.top_k_experts));
    if (m.num_experts > 0 && m.top_k_experts > m.num_experts) {
      error("model.top_k_experts", "is " + std::to_string(m.top_k_experts) +
                                       " but there are only " + std::to_string(m.num_experts) +
                                       " experts");
    }
    if (m.max_sequence_length && c_.engine.max_model_len &&
        *m.max_sequence_length != *c_.engine.max_model_len && !failed("engine.max_model_len")) {
      error("model.max_sequence_length", std::to_string(*m.max_sequence_length) +
                                             " disagrees with engine.max_model_len " +
                                             std::to_string(*c_.engine.max_model_len) +
                                             "; write one of them, or the same value in both");
    }
    if (m.quantization_type && !failed("engine.quantization")) {
      for (const InstanceConfig& instance : c_.served_instances()) {
        const WeightFormat engine_format = declared_format(instance.engine.quantization);
        if (!same_family(*m.quantization_type, engine_format)) {
          error("model.quantization_type",
                "is " + std::string(enum_name(*m.quantization_type)) +
                    " but engine.quantization is " + to_yaml_text(instance.engine.quantization) +
                    " for " + instance.engine.model_name +
                    "; make them agree (none/fp16/bf16 go with quantization: null)");
          break;
        }
      }
    }
    if (written("model.enable_compilation")) {
      notice("model.enable_compilation",
             "no effect on the CPU backend, which runs without graph compilation");
    }
  }

  void check_server() {
    const ServerConfig& s = c_.server;
    if (s.host.empty()) error("server.host", "must not be empty (e.g. 127.0.0.1 or 0.0.0.0)");
    if (s.port < 0 || s.port > 65535) {
      error("server.port",
            "must be in [0, 65535] (0 = any free port), got " + std::to_string(s.port));
    }
    if (s.api_key && s.api_key->empty()) {
      error("server.api_key",
            "is empty; remove it for an open server or set a token (or LOCALMOE_API_KEY)");
    }
    if (s.max_request_body_bytes < 1024) {
      error("server.max_request_body_bytes",
            "must be >= 1024, got " + std::to_string(s.max_request_body_bytes));
    }
    if (s.max_queued_requests < 1) {
      error("server.max_queued_requests",
            "must be >= 1, got " + std::to_string(s.max_queued_requests));
    }
    if (s.num_http_threads < 1 || s.num_http_threads > 1024) {
      error("server.num_http_threads",
            "must be in [1, 1024], got " + std::to_string(s.num_http_threads));
    }
  }

  void check_moe_ranges() {
    if (c_.moe.expert_cache_gb < 0 || c_.moe.expert_cache_gb > kMaxGiB) {
      error("moe.expert_cache_gb", "must be in [0, 1048576] GiB (0 = all experts resident), got " +
                                       to_yaml_text(c_.moe.expert_cache_gb));
    }
    if (c_.moe.prefetch_experts < 0) {
      error("moe.prefetch_experts", "must be >= 0, got " + std::to_string(c_.moe.prefetch_experts));
    }
  }

  void check_instances() {
    std::vector<std::string> names;
    std::vector<std::pair<int64_t, double>> device_use;  // (device, utilization) over all instances
    for (size_t i = 0; i < c_.instances.size(); ++i) {
      const InstanceConfig& inst = c_.instances[i];
      const std::string prefix = "instances[" + std::to_string(i) + "]";
      const std::string name = inst.name.empty() ? inst.engine.model_name : inst.name;
      if (std::find(names.begin(), names.end(), name) != names.end()) {
        error(prefix + (inst.name.empty() ? ".model_name" : ".name"),
              "two instances are served as '" + name + "'; give one a distinct name");
      }
      names.push_back(name);
      const std::string devices_key = prefix + ".gpu_devices";
      std::vector<int64_t> devices = inst.gpu_devices;
      for (int64_t d : devices) {
        if (d < 0) error(devices_key, "device index " + std::to_string(d) + " is negative");
      }
      std::vector<int64_t> sorted = devices;
      std::sort(sorted.begin(), sorted.end());
      if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
        error(devices_key, "lists a device twice");
      }
      if (!devices.empty() &&
          static_cast<int64_t>(devices.size()) != inst.engine.tensor_parallel_size) {
        error(devices_key, "lists " + std::to_string(devices.size()) +
                               " devices but tensor_parallel_size is " +
                               std::to_string(inst.engine.tensor_parallel_size) +
                               "; list exactly one per shard");
      }
      if (devices.empty()) {
        for (int64_t d = 0; d < inst.engine.tensor_parallel_size && d < 1024; ++d)
          devices.push_back(d);
      }
      sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
      for (int64_t d : sorted.empty() ? devices : sorted) {
        device_use.emplace_back(d, inst.engine.gpu_memory_utilization);
      }
      check_engine(inst.engine, prefix);
    }
    // Instances sharing a device share its memory.
    std::sort(device_use.begin(), device_use.end());
    for (size_t i = 0; i < device_use.size();) {
      size_t j = i;
      double sum = 0;
      while (j < device_use.size() && device_use[j].first == device_use[i].first)
        sum += device_use[j++].second;
      if (j - i > 1 && sum > 1.0 + 1e-9) {
        std::ostringstream message;
        message << "device " << device_use[i].first << " is shared by " << (j - i)
                << " instances whose gpu_memory_utilization adds up to " << sum
                << " > 1; give them disjoint gpu_devices or lower their utilization";
        error("instances", message.str());
      }
      i = j;
    }
  }

  // ---- one served model -----------------------------------------------------

  void check_engine(const EngineConfig& e, const std::string& prefix) {
    auto key = [&](const char* field) { return key_of(prefix, field); };
    if (e.model_name.empty())
      error(key("model_name"), "must name a model directory, .gguf file or id");
    if (e.tensor_parallel_size < 1 || e.tensor_parallel_size > 1024) {
      error(key("tensor_parallel_size"),
            "must be in [1, 1024], got " + std::to_string(e.tensor_parallel_size));
    }
    if (!(e.gpu_memory_utilization > 0 && e.gpu_memory_utilization <= 1)) {
      error(key("gpu_memory_utilization"), "must be in (0, 1], got " +
                                               to_yaml_text(e.gpu_memory_utilization) +
                                               "; 0.9 is the usual value");
    }
    if (e.max_model_len && (*e.max_model_len < 1 || *e.max_model_len > kMaxTokens)) {
      error(key("max_model_len"),
            "must be in [1, 16777216], got " + std::to_string(*e.max_model_len));
    }
    const auto& sizes = allowed_block_sizes();
    if (std::find(sizes.begin(), sizes.end(), e.block_size) == sizes.end()) {
      error(key("block_size"),
            "must be one of 8, 16, 32, 64, 128, got " + std::to_string(e.block_size));
    }
    if (e.swap_space < 0 || e.swap_space > kMaxGiB) {
      error(key("swap_space"), "must be in [0, 1048576] GiB, got " + to_yaml_text(e.swap_space));
    }
    if (e.max_num_seqs < 1 || e.max_num_seqs > kMaxSeqs) {
      error(key("max_num_seqs"), "must be in [1, 1048576], got " + std::to_string(e.max_num_seqs));
    }
    if (e.max_num_batched_tokens < 1 || e.max_num_batched_tokens > kMaxTokens) {
      error(key("max_num_batched_tokens"),
            "must be in [1, 16777216], got " + std::to_string(e.max_num_batched_tokens));
    } else if (e.max_num_seqs >= 1 && e.max_num_batched_tokens < e.max_num_seqs &&
               !failed(key("max_num_seqs"))) {
      error(key("max_num_batched_tokens"), std::to_string(e.max_num_batched_tokens) +
                                               " is below max_num_seqs " +
                                               std::to_string(e.max_num_seqs) +
                                               ": a step could not give every running sequence its "
                                               "next token; raise it to at least " +
                                               std::to_string(e.max_num_seqs));
    }
    if (e.num_gpu_blocks_override && *e.num_gpu_blocks_override < 1) {
      error(key("num_gpu_blocks_override"),
            "must be >= 1 block, got " + std::to_string(*e.num_gpu_blocks_override));
    }
    if (e.max_chunked_prefill_tokens < 0) {
      error(key("max_chunked_prefill_tokens"), "must be >= 0 (0 = max_num_batched_tokens), got " +
                                                   std::to_string(e.max_chunked_prefill_tokens));
    } else if (e.max_chunked_prefill_tokens > e.max_num_batched_tokens &&
               e.max_num_batched_tokens >= 1) {
      error(key("max_chunked_prefill_tokens"),
            std::to_string(e.max_chunked_prefill_tokens) + " exceeds max_num_batched_tokens " +
                std::to_string(e.max_num_batched_tokens) + "; a chunk must fit in one step");
    } else if (e.max_chunked_prefill_tokens > 0 && !e.enable_chunked_prefill) {
      notice(key("max_chunked_prefill_tokens"),
             "has no effect while enable_chunked_prefill is false");
    }
    if (e.trust_remote_code) {
      error(key("trust_remote_code"),
            "true is refused: LocalMoE never runs Python code shipped with a model; its "
            "architectures "
            "(Llama, Mistral, Mixtral, GPT-2) are implemented natively. Set it to false");
    }
    check_load_format(e, prefix);
    check_kv_params(e, prefix);
    check_against_model(e, prefix);
  }

  void check_load_format(const EngineConfig& e, const std::string& prefix) {
    const bool gguf_name =
        e.model_name.size() >= 5 && e.model_name.substr(e.model_name.size() - 5) == ".gguf";
    const std::string key = key_of(prefix, "load_format");
    if (e.load_format == LoadFormat::kGguf && !gguf_name) {
      error(key, "is gguf but model_name '" + e.model_name + "' is not a .gguf file");
    }
    if (e.load_format == LoadFormat::kSafetensors && gguf_name) {
      error(key, "is safetensors but model_name '" + e.model_name +
                     "' is a .gguf file; use auto or gguf");
    }
  }

  void check_kv_params(const EngineConfig& e, const std::string& prefix) {
    if (!e.quantization_param_path) return;
    const std::string key = key_of(prefix, "quantization_param_path");
    const bool fp8 =
        e.kv_cache_dtype == KvCacheDtype::kFp8E4M3 || e.kv_cache_dtype == KvCacheDtype::kFp8E5M2;
    if (!fp8) notice(key, "has no effect unless kv_cache_dtype is fp8_e4m3 or fp8_e5m2");
    if (ctx_.read_file && !ctx_.read_file(*e.quantization_param_path)) {
      error(key, "cannot read '" + *e.quantization_param_path + "'");
    }
  }

  void check_against_model(const EngineConfig& e, const std::string& prefix) {
    if (e.model_name.empty() || !ctx_.resolve_model) return;
    std::optional<ModelSpec> spec;
    try {
      spec = ctx_.resolve_model(e.model_name);
    } catch (const Error& err) {
      error(key_of(prefix, "model_name"), std::string("cannot read the model: ") + err.what());
      return;
    }
    if (!spec) {
      notice(key_of(prefix, "model_name"),
             "'" + e.model_name +
                 "' is neither a local model directory nor a catalog id; checks that need its "
                 "architecture (heads, context length, memory) were skipped");
      return;
    }
    const ModelConfig& m = spec->arch;
    auto key = [&](const char* field) { return key_of(prefix, field); };
    const int64_t tp = e.tensor_parallel_size;
    bool tp_ok = tp >= 1 && tp <= 1024;
    if (tp_ok && m.num_heads % tp != 0) {
      error(key("tensor_parallel_size"), std::to_string(tp) + " does not divide the " +
                                             std::to_string(m.num_heads) + " attention heads of " +
                                             spec->id + "; use one of " +
                                             divisors_up_to(m.num_heads, 64));
      tp_ok = false;
    } else if (tp_ok && m.num_kv_heads % tp != 0 && tp % m.num_kv_heads != 0) {
      error(key("tensor_parallel_size"),
            std::to_string(tp) + " neither divides nor is a multiple of the " +
                std::to_string(m.num_kv_heads) + " KV heads of " + spec->id + "; use one of " +
                divisors_up_to(m.num_kv_heads, 64));
      tp_ok = false;
    } else if (tp_ok && tp > m.num_kv_heads) {
      notice(key("tensor_parallel_size"), std::to_string(tp) + " exceeds the " +
                                              std::to_string(m.num_kv_heads) +
                                              " KV heads: each KV head is replicated on " +
                                              std::to_string(tp / m.num_kv_heads) + " devices");
    }

    const int64_t model_limit = static_cast<int64_t>(
        static_cast<double>(m.max_position_embeddings) *
        (m.rope_scaling == RopeScalingKind::kLinear ? m.rope_scaling_factor : 1.0));
    const int64_t max_len = e.max_model_len.value_or(model_limit);
    bool len_ok = !failed(key("max_model_len")) && max_len >= 1 && max_len <= kMaxTokens;
    if (len_ok && max_len > model_limit) {
      error(key("max_model_len"), std::to_string(max_len) + " exceeds the " +
                                      std::to_string(model_limit) + "-token context of " +
                                      spec->id + "; set at most " + std::to_string(model_limit));
      len_ok = false;
    }
    if (len_ok && !e.enable_chunked_prefill && e.max_num_batched_tokens < max_len) {
      error(key("max_num_batched_tokens"), std::to_string(e.max_num_batched_tokens) +
                                               " is below max_model_len " +
                                               std::to_string(max_len) +
                                               " with chunked prefill off, so a long prompt could "
                                               "never be scheduled; raise it or set "
                                               "enable_chunked_prefill: true");
    }
    check_quantization(e, prefix, *spec, tp_ok);
    check_experts(*spec);
    if (tp_ok && len_ok) check_memory(e, prefix, *spec, max_len);
  }

  void check_quantization(const EngineConfig& e, const std::string& prefix, const ModelSpec& spec,
                          bool tp_ok) {
    if (failed(key_of(prefix, "quantization"))) return;
    const std::string key = key_of(prefix, "quantization");
    const CheckpointQuantization& ckpt = spec.checkpoint;
    const std::string ckpt_name(enum_name(ckpt.format));
    if (ckpt.format != WeightFormat::kNone) {
      if (!e.quantization) {
        notice(key, "null: the checkpoint's own " + ckpt_name + " format is used");
      } else if (weight_format_of(*e.quantization) != ckpt.format) {
        error(key, std::string(enum_name(*e.quantization)) + " does not match the checkpoint of " +
                       spec.id + ", which is pre-quantized with " + ckpt_name +
                       "; set quantization: " + ckpt_name + " (or null)");
        return;
      }
    } else if (e.quantization &&
               (*e.quantization == Quantization::kAwq || *e.quantization == Quantization::kGptq)) {
      error(key, std::string(enum_name(*e.quantization)) +
                     " needs a pre-quantized checkpoint (a quantization_config "
                     "in config.json) but " +
                     spec.id + " holds plain weights; point model_name at an " +
                     std::string(enum_name(*e.quantization)) +
                     " checkpoint, or use fp8 / int8, which quantize at load");
      return;
    }
    // Grouped formats: each device's slice of a row-parallel input must hold whole groups.
    const WeightLayout layout = serving_layout(ckpt, e.quantization);
    if (!tp_ok || layout.group_size <= 0 ||
        (layout.format != WeightFormat::kAwq && layout.format != WeightFormat::kGptq)) {
      return;
    }
    const ModelConfig& m = spec.arch;
    const int64_t tp = e.tensor_parallel_size;
    for (const auto& [what, width] :
         {std::pair<const char*, int64_t>{"attention output width", m.q_dim()},
          std::pair<const char*, int64_t>{"FFN width", m.intermediate_size}}) {
      if (width % tp != 0 || (width / tp) % layout.group_size != 0) {
        error(key_of(prefix, "tensor_parallel_size"),
              std::to_string(tp) + " splits the " + what + " " + std::to_string(width) +
                  " into slices of " + std::to_string(width / tp) + ", not a multiple of the " +
                  std::string(enum_name(layout.format)) + " group size " +
                  std::to_string(layout.group_size) + "; choose a smaller tensor_parallel_size");
        return;
      }
    }
  }

  void check_experts(const ModelSpec& spec) {
    const ModelConfig& m = spec.arch;
    const ModelRuntimeConfig& r = c_.model;
    if (!m.is_moe()) {
      if (written("model.num_experts") && r.num_experts > 0) {
        notice("model.num_experts", spec.id + " is a dense model; the MoE settings do not apply");
      }
      if (c_.moe.expert_cache_gb > 0)
        notice("moe.expert_cache_gb", spec.id + " is a dense model: no experts to cache");
      return;
    }
    if (r.num_experts > 0 && r.num_experts != m.num_experts) {
      error("model.num_experts", std::to_string(r.num_experts) + " disagrees with the " +
                                     std::to_string(m.num_experts) + " experts of " + spec.id +
                                     "; set " + std::to_string(m.num_experts) +
                                     " or 0 (take the checkpoint's)");
    }
    if (r.top_k_experts > 0 && r.top_k_experts != m.num_experts_per_token) {
      error("model.top_k_experts", std::to_string(r.top_k_experts) + " disagrees with the " +
                                       std::to_string(m.num_experts_per_token) +
                                       " experts per token of " + spec.id + "; set " +
                                       std::to_string(m.num_experts_per_token) + " or 0");
    }
    if (c_.moe.prefetch_experts > m.num_experts) {
      error("moe.prefetch_experts", std::to_string(c_.moe.prefetch_experts) + " exceeds the " +
                                        std::to_string(m.num_experts) + " experts per layer");
    }
  }

  void check_memory(const EngineConfig& e, const std::string& prefix, const ModelSpec& spec,
                    int64_t max_len) {
    for (const char* field : {"gpu_memory_utilization", "block_size", "max_num_batched_tokens",
                              "max_num_seqs", "kv_cache_dtype", "quantization"}) {
      if (failed(key_of(prefix, field))) return;
    }
    const auto& sizes = allowed_block_sizes();
    if (std::find(sizes.begin(), sizes.end(), e.block_size) == sizes.end()) return;
    if (!(e.gpu_memory_utilization > 0 && e.gpu_memory_utilization <= 1)) return;
    if (e.max_num_batched_tokens < 1 || e.max_num_batched_tokens > kMaxTokens) return;
    if (e.max_num_seqs < 1 || e.max_num_seqs > kMaxSeqs || failed("gpu.memory_limit_gb")) return;
    if (c_.gpu.memory_limit_gb < 0 || c_.gpu.memory_limit_gb > kMaxGiB) return;
    if (c_.moe.expert_cache_gb < 0 || c_.moe.expert_cache_gb > kMaxGiB) return;

    MemoryRequest r;
    r.model = spec.arch;
    r.layout = serving_layout(spec.checkpoint, e.quantization);
    r.tensor_parallel_size = e.tensor_parallel_size;
    r.kv_cache_dtype = e.kv_cache_dtype;
    r.block_size = e.block_size;
    r.max_model_len = max_len;
    r.max_num_batched_tokens = e.max_num_batched_tokens;
    r.max_num_seqs = e.max_num_seqs;
    r.device_memory_bytes = c_.gpu.memory_limit_gb > 0
                                ? static_cast<int64_t>(c_.gpu.memory_limit_gb * kBytesPerGiB)
                                : ctx_.device_memory_bytes;
    r.memory_utilization = e.gpu_memory_utilization;
    r.runtime_overhead_bytes = ctx_.runtime_overhead_bytes;
    r.expert_cache_bytes = static_cast<int64_t>(c_.moe.expert_cache_gb * kBytesPerGiB);
    const MemoryEstimate est = estimate_memory(r);

    if (spec.arch.is_moe() && r.expert_cache_bytes > 0) {
      const int64_t per_expert =
          est.weights.expert_per_device / (spec.arch.num_layers * spec.arch.num_experts);
      const int64_t needed = per_expert * spec.arch.num_experts_per_token;
      if (r.expert_cache_bytes < needed) {
        error("moe.expert_cache_gb",
              format_gib(r.expert_cache_bytes) + " cannot hold the " +
                  std::to_string(spec.arch.num_experts_per_token) +
                  " experts one token needs in a layer (" + format_gib(needed) +
                  " per device); raise it or set 0 to keep all experts resident");
        return;
      }
    }

    const std::string budget = to_yaml_text(e.gpu_memory_utilization) + " x " +
                               format_gib(r.device_memory_bytes) + " = " +
                               format_gib(est.budget_bytes);
    const std::string model_key = key_of(prefix, "model_name");
    if (!est.weights_fit) {
      error(model_key, spec.id + " does not fit: per device, weights " +
                           format_gib(est.resident_weight_bytes) + " (" +
                           weight_layout_name(r.layout) + ", tensor_parallel_size " +
                           std::to_string(r.tensor_parallel_size) + ") + activations " +
                           format_gib(est.activation_bytes) + " + runtime " +
                           format_gib(est.overhead_bytes) + " exceed the budget " + budget +
                           "; quantize (fp8 / int8 / awq), raise tensor_parallel_size, or lower "
                           "max_num_batched_tokens");
      return;
    }
    if (!est.fits) {
      error(key_of(prefix, "max_model_len"),
            std::to_string(max_len) + " tokens of KV (" +
                format_gib(est.tokens_per_sequence * est.kv_bytes_per_token) +
                " per device) do not fit in the " + format_gib(est.kv_bytes) +
                " left after weights " + format_gib(est.resident_weight_bytes) + " + activations " +
                format_gib(est.activation_bytes) + " within " + budget + "; room for " +
                std::to_string(est.kv_capacity_tokens) +
                " tokens: lower max_model_len, use kv_cache_dtype fp8_e5m2, or quantize");
      return;
    }
    notice(model_key, "fits: per device weights " + format_gib(est.resident_weight_bytes) +
                          " + activations " + format_gib(est.activation_bytes) + " + runtime " +
                          format_gib(est.overhead_bytes) + " within " + budget + "; KV cache " +
                          std::to_string(est.kv_capacity_tokens) +
                          " tokens = " + std::to_string(est.kv_capacity_sequences) +
                          " sequences of " + std::to_string(est.tokens_per_sequence));
  }

  const Config& c_;
  const ValidationContext& ctx_;
  std::vector<ConfigDiagnostic> out_;
};

}  // namespace

const std::vector<int64_t>& allowed_block_sizes() {
  static const std::vector<int64_t> kSizes{8, 16, 32, 64, 128};
  return kSizes;
}

std::vector<ConfigDiagnostic> validate_config(const Config& config,
                                              const ValidationContext& context) {
  return Validator(config, context).run();
}

}  // namespace localmoe
