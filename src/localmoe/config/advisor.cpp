#include "localmoe/config/advisor.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "localmoe/base/error.h"
#include "localmoe/config/config_fields.h"
#include "localmoe/config/memory_model.h"

namespace localmoe {
namespace {

std::string kib(int64_t bytes) {
  std::ostringstream out;
  out << static_cast<double>(bytes) / 1024.0 << " KiB";
  return out.str();
}

std::string fixed(double value, int digits) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(digits);
  out << value;
  return out.str();
}

// What a scenario asks of a deployment.
struct ScenarioProfile {
  int64_t max_len = 4096;         // wanted context, capped by the model's
  int64_t typical_tokens = 1024;  // prompt + completion of a typical request
  int64_t seq_cap = 256;          // most sequences worth running at once
  int64_t target_seqs = 64;       // typical requests the KV cache should hold at once
  int64_t batched_tokens = 8192;
  int64_t chunk_tokens = 0;  // max_chunked_prefill_tokens
  const char* why = "";
};

ScenarioProfile profile_for(Scenario s) {
  switch (s) {
    case Scenario::kChat:
      return {8192,
              1024,
              256,
              64,
              8192,
              0,
              "chat: quality first, enough KV for 64 conversations of ~1k tokens"};
    case Scenario::kCode:
      return {16384,
              2048,
              64,
              16,
              8192,
              0,
              "code: exact output matters and prompts hold whole files (long context)"};
    case Scenario::kHighThroughput:
      return {4096,
              1024,
              512,
              256,
              16384,
              0,
              "high throughput: as many sequences per step as memory allows"};
    case Scenario::kLowLatency:
      return {4096,
              1024,
              16,
              8,
              2048,
              512,
              "low latency: fewest bytes per step, few sequences, short steps"};
    case Scenario::kMultiModel:
      return {
          4096, 1024, 128, 32, 8192, 0, "multi model: each model on its own share of the devices"};
  }
  return {};
}

// Weight layouts to try, best first for the scenario.
std::vector<WeightLayout> layout_order(const ModelSpec& model, Scenario s, const HardwareSpec& hw) {
  if (model.checkpoint.format != WeightFormat::kNone) {
    return {
        WeightLayout{model.checkpoint.format, model.checkpoint.bits, model.checkpoint.group_size}};
  }
  const WeightLayout sixteen{};
  const WeightLayout fp8{WeightFormat::kFp8, 8, -1};
  const WeightLayout int8{WeightFormat::kInt8, 8, -1};
  const bool fp8_native = hw.native_fp8;
  switch (s) {
    case Scenario::kHighThroughput:
      return fp8_native ? std::vector{fp8, sixteen, int8} : std::vector{sixteen, int8};
    case Scenario::kLowLatency:
      return fp8_native ? std::vector{fp8, int8, sixteen} : std::vector{int8, sixteen};
    default: return fp8_native ? std::vector{sixteen, fp8, int8} : std::vector{sixteen, int8};
  }
}

std::optional<Quantization> quantization_for(const WeightLayout& layout) {
  switch (layout.format) {
    case WeightFormat::kFp8: return Quantization::kFp8;
    case WeightFormat::kInt8: return Quantization::kInt8;
    case WeightFormat::kAwq: return Quantization::kAwq;
    case WeightFormat::kGptq: return Quantization::kGptq;
    default: return std::nullopt;
  }
}

bool tp_valid(const ModelConfig& m, const WeightLayout& layout, int64_t tp) {
  if (m.num_heads % tp != 0) return false;
  if (m.num_kv_heads % tp != 0 && tp % m.num_kv_heads != 0) return false;
  if (layout.group_size > 0 &&
      (layout.format == WeightFormat::kAwq || layout.format == WeightFormat::kGptq)) {
    for (int64_t width : {m.q_dim(), m.intermediate_size}) {
      if (width % tp != 0 || (width / tp) % layout.group_size != 0) return false;
    }
  }
  return true;
}

int64_t largest_valid_tp(const ModelConfig& m, const WeightLayout& layout, int64_t devices) {
  for (int64_t tp = devices; tp > 1; --tp) {
    if (tp_valid(m, layout, tp)) return tp;
  }
  return 1;
}

struct Attempt {
  Candidate candidate;
  int64_t tp = 1;
};

// Advises one model on `device_count` devices; nullopt + `refusal` when nothing fits.
std::optional<InstanceAdvice> advise_instance(const ModelSpec& spec, Scenario scenario,
                                              const HardwareSpec& hw, int64_t device_count,
                                              double utilization, std::string& refusal) {
  const ModelConfig& m = spec.arch;
  const ScenarioProfile p = profile_for(scenario);
  const int64_t model_limit = m.max_position_embeddings;
  InstanceAdvice out;
  out.model = spec;

  std::vector<int64_t> lengths{std::min(p.max_len, model_limit)};
  for (int64_t len = lengths.back() / 2; len >= 2048; len /= 2) lengths.push_back(len);

  const std::vector<WeightLayout> layouts = layout_order(spec, scenario, hw);
  std::optional<Attempt> chosen;
  int64_t chosen_len = 0;
  for (int64_t max_len : lengths) {
    const int64_t typical = std::min(p.typical_tokens, max_len);
    const int64_t target = p.target_seqs * typical;
    std::vector<Attempt> attempts;
    for (const WeightLayout& layout : layouts) {
      const int64_t tp = largest_valid_tp(m, layout, device_count);
      const bool prefer_fp8_kv = scenario == Scenario::kHighThroughput;
      for (KvCacheDtype kv : prefer_fp8_kv
                                 ? std::vector{KvCacheDtype::kFp8E5M2}
                                 : std::vector{KvCacheDtype::kAuto, KvCacheDtype::kFp8E5M2}) {
        MemoryRequest r;
        r.model = m;
        r.layout = layout;
        r.tensor_parallel_size = tp;
        r.kv_cache_dtype = kv;
        r.block_size = 16;
        r.max_model_len = max_len;
        r.max_num_batched_tokens = p.batched_tokens;
        r.max_num_seqs = p.seq_cap;
        r.device_memory_bytes = hw.memory_bytes;
        r.memory_utilization = utilization;
        r.runtime_overhead_bytes = hw.runtime_overhead_bytes;
        Candidate c{layout, kv, estimate_memory(r), false};
        c.meets_target = c.memory.fits && c.memory.kv_capacity_tokens >= target;
        attempts.push_back({c, tp});
        if (c.meets_target) break;  // a 16-bit KV cache that meets the target needs no FP8
      }
    }
    out.candidates.clear();
    for (const Attempt& a : attempts) out.candidates.push_back(a.candidate);
    out.kv_target_tokens = target;
    for (const Attempt& a : attempts) {
      if (a.candidate.meets_target) {
        chosen = a;
        break;
      }
    }
    if (!chosen) {
      // Nothing meets the target: take the one with the most KV that fits at all.
      for (const Attempt& a : attempts) {
        if (a.candidate.memory.fits &&
            (!chosen ||
             a.candidate.memory.kv_capacity_tokens > chosen->candidate.memory.kv_capacity_tokens)) {
          chosen = a;
        }
      }
    }
    if (chosen) {
      chosen_len = max_len;
      break;
    }
  }

  if (!chosen) {
    std::ostringstream why;
    why << spec.id << " does not fit " << device_count << " x " << hw.name << " (budget "
        << fixed(utilization, 2) << " x " << format_gib(static_cast<double>(hw.memory_bytes))
        << " = " << format_gib(static_cast<double>(hw.memory_bytes) * utilization)
        << " per device) even at max_model_len " << lengths.back() << ":";
    for (const Candidate& c : out.candidates) {
      const MemoryEstimate& e = c.memory;
      why << "\n  " << weight_layout_name(c.layout) << " weights, " << enum_name(c.kv_cache_dtype)
          << " KV: weights " << format_gib(static_cast<double>(e.resident_weight_bytes))
          << " + activations " << format_gib(static_cast<double>(e.activation_bytes))
          << " + runtime " << format_gib(static_cast<double>(e.overhead_bytes)) << " = "
          << format_gib(static_cast<double>(e.resident_weight_bytes + e.activation_bytes +
                                            e.overhead_bytes))
          << (e.weights_fit
                  ? ", KV room " + std::to_string(e.kv_capacity_tokens) +
                        " tokens < one sequence of " + std::to_string(e.tokens_per_sequence)
                  : ", over the budget by " + format_gib(static_cast<double>(-e.kv_bytes)));
    }
    if (spec.checkpoint.format == WeightFormat::kNone) {
      const WeightLayout awq{WeightFormat::kAwq, 4, 128};
      const int64_t tp = largest_valid_tp(m, awq, device_count);
      why << "\n  a 4-bit AWQ checkpoint (group 128) would hold "
          << format_gib(static_cast<double>(weight_bytes(m, awq, tp).per_device))
          << " of weights per device at "
          << "tensor_parallel_size " << tp;
    }
    refusal = why.str();
    return std::nullopt;
  }

  const Candidate& c = chosen->candidate;
  const MemoryEstimate& e = c.memory;
  const int64_t tp = chosen->tp;
  const int64_t typical = std::min(p.typical_tokens, chosen_len);
  out.memory = e;

  EngineConfig& eng = out.engine;
  eng.model_name = spec.id;
  eng.tensor_parallel_size = tp;
  eng.gpu_memory_utilization = utilization;
  eng.max_model_len = chosen_len;
  eng.block_size = 16;
  eng.quantization = quantization_for(c.layout);
  eng.kv_cache_dtype = c.kv_cache_dtype;
  eng.enable_chunked_prefill = true;
  eng.enable_prefix_caching = true;
  eng.max_chunked_prefill_tokens = p.chunk_tokens;
  const int64_t by_kv = e.kv_capacity_tokens / typical;
  int64_t seqs = std::min(p.seq_cap, by_kv);
  if (seqs >= 16) seqs -= seqs % 8;
  eng.max_num_seqs = std::max<int64_t>(1, seqs);
  eng.max_num_batched_tokens = std::max(p.batched_tokens, eng.max_num_seqs);
  eng.swap_space = hw.is_cpu ? 0.0 : 4.0;

  out.single = decode_roofline(m, c.layout, tp, e.kv_bytes_per_token, hw, 1, typical);
  out.batch = decode_roofline(m, c.layout, tp, e.kv_bytes_per_token, hw, eng.max_num_seqs, typical);

  auto decide = [&](std::string field, std::string value, std::string reason) {
    out.decisions.push_back({std::move(field), std::move(value), std::move(reason)});
  };
  {
    std::ostringstream why;
    why << weight_layout_name(c.layout) << ": weights "
        << format_gib(static_cast<double>(e.weights.total)) << " in all, "
        << format_gib(static_cast<double>(e.weights.per_device)) << " per device";
    if (spec.checkpoint.format != WeightFormat::kNone) {
      why << "; the checkpoint is pre-quantized, so its format is the only one";
    } else if (c.meets_target) {
      why << "; the first format in this scenario's order (" << p.why
          << ") that leaves KV for the target";
    } else {
      why << "; no format reaches the KV target, this one leaves the most KV";
    }
    decide("quantization", to_yaml_text(eng.quantization), why.str());
  }
  decide("kv_cache_dtype", std::string(enum_name(eng.kv_cache_dtype)),
         kib(e.kv_bytes_per_token) + " per token per device" +
             (eng.kv_cache_dtype == KvCacheDtype::kAuto
                  ? std::string("; 16-bit already holds the target")
                  : std::string(
                        "; FP8 halves the 16-bit size, doubling the tokens that fit (e5m2 needs no "
                        "calibrated scales)")));
  decide("tensor_parallel_size", std::to_string(tp),
         device_count == 1
             ? std::string("one device holds the whole model")
             : "largest count <= " + std::to_string(device_count) + " devices dividing the " +
                   std::to_string(m.num_heads) + " heads and " + std::to_string(m.num_kv_heads) +
                   " KV heads (and AWQ/GPTQ groups): weights and KV split " + std::to_string(tp) +
                   " ways" +
                   (tp > 1 && !hw.interconnect.empty() ? "; link: " + hw.interconnect
                                                       : std::string()));
  decide("max_model_len", std::to_string(chosen_len),
         "scenario wants " + std::to_string(p.max_len) + ", the model allows " +
             std::to_string(model_limit) +
             (chosen_len < std::min(p.max_len, model_limit) ? ", shortened until one sequence fits"
                                                            : std::string()));
  decide("max_num_seqs", std::to_string(eng.max_num_seqs),
         "min(scenario cap " + std::to_string(p.seq_cap) + ", KV " +
             std::to_string(e.kv_capacity_tokens) + " tokens / " + std::to_string(typical) +
             " per typical request = " + std::to_string(by_kv) + ")");
  decide("max_num_batched_tokens", std::to_string(eng.max_num_batched_tokens),
         "step budget; its activations take " +
             format_gib(static_cast<double>(e.activation_bytes)) + " per device" +
             (p.chunk_tokens > 0
                  ? "; prefill chunks of " + std::to_string(p.chunk_tokens) + " keep steps short"
                  : std::string()));
  decide("block_size", "16",
         "a block wastes at most 15 tokens per sequence (" + std::to_string(15 * eng.max_num_seqs) +
             " tokens at max_num_seqs) and is the prefix-cache unit; the size does not change "
             "bandwidth");
  decide("enable_chunked_prefill", "true",
         "long prompts are read over several steps, so running sequences keep decoding");
  {
    std::ostringstream why;
    why << "upper bound " << fixed(out.single.tokens_per_second, 1)
        << " tokens/s for one sequence (" << format_gib(out.single.bytes_per_step)
        << " read per step at " << fixed(hw.bandwidth_gb_s, 0) << " GB/s); "
        << fixed(out.batch.tokens_per_second, 0) << " tokens/s at " << out.batch.batch
        << " sequences (" << (out.batch.compute_bound ? "compute" : "bandwidth") << "-bound)";
    decide("decode estimate", "roofline", why.str());
  }
  return out;
}

}  // namespace

Advice advise(const AdviceRequest& request) {
  Advice advice;
  advice.scenario = request.scenario;
  advice.hardware = request.hardware;
  advice.gpus = request.hardware.is_cpu ? 1 : request.gpus;
  if (request.models.empty()) throw make_error(ErrorKind::kInvalidArgument, "advise needs a model");
  if (request.gpus < 1 || request.gpus > 1024) {
    throw make_error(ErrorKind::kInvalidArgument, "--gpus must be in [1, 1024], got ",
                     request.gpus);
  }
  if (!(request.gpu_memory_utilization > 0 && request.gpu_memory_utilization <= 1)) {
    throw make_error(ErrorKind::kInvalidArgument, "gpu_memory_utilization must be in (0, 1]");
  }
  const bool multi = request.scenario == Scenario::kMultiModel;
  const int64_t n = static_cast<int64_t>(request.models.size());
  if (multi && n < 2) {
    advice.refusal = "multi_model needs two or more models (repeat --model)";
    return advice;
  }
  if (!multi && n > 1) {
    advice.refusal = "several models need --scenario multi_model";
    return advice;
  }
  if (n > advice.gpus) {
    advice.refusal = std::to_string(n) + " models need at least " + std::to_string(n) +
                     " devices, have " + std::to_string(advice.gpus);
    return advice;
  }
  const int64_t share = advice.gpus / n;
  for (int64_t i = 0; i < n; ++i) {
    std::string refusal;
    std::optional<InstanceAdvice> one =
        advise_instance(request.models[i], request.scenario, request.hardware, share,
                        request.gpu_memory_utilization, refusal);
    if (!one) {
      advice.refusal = refusal;
      advice.instances.clear();
      return advice;
    }
    if (multi) {
      for (int64_t d = 0; d < one->engine.tensor_parallel_size; ++d)
        one->devices.push_back(i * share + d);
    }
    advice.instances.push_back(std::move(*one));
  }
  advice.feasible = true;

  Config& c = advice.config;
  c.gpu.memory_limit_gb = request.hardware.is_cpu
                              ? 0.0
                              : static_cast<double>(request.hardware.memory_bytes) / kBytesPerGiB;
  c.engine = advice.instances.front().engine;
  if (multi) {
    for (const InstanceAdvice& a : advice.instances) {
      InstanceConfig inst;
      inst.engine = a.engine;
      inst.gpu_devices = a.devices;
      c.instances.push_back(inst);
    }
  } else {
    const std::optional<Quantization>& q = c.engine.quantization;
    c.model.quantization_type = q ? weight_format_of(*q) : WeightFormat::kNone;
  }
  c.source = "localmoe advise";
  return advice;
}

}  // namespace localmoe
