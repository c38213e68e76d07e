#pragma once
// The deployment advisor (the seeds' l40s_quantization_optimizer, computed
// instead of guessed): for a model, a scenario and hardware it picks the
// quantization, KV dtype, tensor parallelism, context length, batching and
// block size by trying the candidates against the memory model, and keeps
// the reason and the numbers behind each choice. The result carries a Config
// that `serve` accepts; an impossible request comes back refused, with the
// arithmetic that rules it out.

#include <cstdint>
#include <string>
#include <vector>

#include "localmoe/config/config.h"
#include "localmoe/config/hardware.h"
#include "localmoe/config/memory_model.h"
#include "localmoe/config/model_catalog.h"
#include "localmoe/config/roofline.h"

namespace localmoe {

enum class Scenario { kChat, kCode, kHighThroughput, kLowLatency, kMultiModel };

template <>
struct EnumNames<Scenario> {
  static constexpr std::array<std::pair<std::string_view, Scenario>, 5> kValues{{
      {"chat", Scenario::kChat},
      {"code", Scenario::kCode},
      {"high_throughput", Scenario::kHighThroughput},
      {"low_latency", Scenario::kLowLatency},
      {"multi_model", Scenario::kMultiModel},
  }};
  static constexpr std::array<RejectedName, 0> kRejected{};
};

struct AdviceRequest {
  std::vector<ModelSpec> models;  // one; two or more for multi_model
  Scenario scenario = Scenario::kChat;
  HardwareSpec hardware;
  int64_t gpus = 1;  // devices available (1 for the CPU)
  double gpu_memory_utilization = 0.9;
};

// One choice and why.
struct Decision {
  std::string field;   // "quantization"
  std::string value;   // "awq"
  std::string reason;  // with the numbers
};

// One weight format / KV dtype pair the advisor weighed.
struct Candidate {
  WeightLayout layout;
  KvCacheDtype kv_cache_dtype = KvCacheDtype::kAuto;
  MemoryEstimate memory;
  bool meets_target = false;  // fits with the scenario's KV target
};

struct InstanceAdvice {
  ModelSpec model;
  std::vector<int64_t> devices;
  EngineConfig engine;
  MemoryEstimate memory;
  DecodeRoofline single;  // one sequence at the typical context
  DecodeRoofline batch;   // max_num_seqs sequences at the typical context
  int64_t kv_target_tokens = 0;
  std::vector<Candidate> candidates;
  std::vector<Decision> decisions;
};

struct Advice {
  bool feasible = false;
  std::string refusal;  // why not, with the arithmetic (when !feasible)
  Scenario scenario = Scenario::kChat;
  HardwareSpec hardware;
  int64_t gpus = 1;
  std::vector<InstanceAdvice> instances;
  Config config;  // ready for `serve` (when feasible)
};

Advice advise(const AdviceRequest& request);

// Renderings for `localmoe advise --format table|yaml|json`.
std::string advice_to_table(const Advice& advice);
std::string advice_to_yaml(const Advice& advice);  // the config, reasons as comments
std::string advice_to_json(const Advice& advice);

}  // namespace localmoe
