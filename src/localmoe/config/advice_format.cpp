// Renderings of an Advice: a table for people, YAML for `serve`, JSON for tools.

#include <algorithm>
#include <cmath>
#include <sstream>

#include <nlohmann/json.hpp>

#include "localmoe/config/advisor.h"
#include "localmoe/config/config_dump.h"

namespace localmoe {
namespace {

std::string header(const Advice& a) {
  std::ostringstream out;
  out << "scenario " << enum_name(a.scenario) << " on " << a.gpus << " x " << a.hardware.name
      << " (" << format_gib(a.hardware.memory_bytes) << ", "
      << std::llround(a.hardware.bandwidth_gb_s) << " GB/s each; " << a.hardware.source << ")";
  if (a.hardware.is_cpu)
    out << "\n" << a.hardware.cores << " hardware threads, ISA: " << a.hardware.isa;
  return out.str();
}

}  // namespace

std::string advice_to_table(const Advice& a) {
  std::ostringstream out;
  out << header(a) << "\n";
  if (!a.feasible) {
    out << "refused: " << a.refusal << "\n";
    return out.str();
  }
  for (const InstanceAdvice& inst : a.instances) {
    out << "\nmodel " << inst.model.id << " (" << inst.model.source << ")";
    if (!inst.devices.empty()) {
      out << " on devices";
      for (int64_t d : inst.devices) out << " " << d;
    }
    out << "\n";
    size_t width = 0;
    for (const Decision& d : inst.decisions)
      width = std::max(width, d.field.size() + d.value.size() + 3);
    for (const Decision& d : inst.decisions) {
      const std::string left = d.field + " = " + d.value;
      out << "  " << left << std::string(width - left.size() + 2, ' ') << d.reason << "\n";
    }
    const MemoryEstimate& e = inst.memory;
    out << "  memory per device: budget " << format_gib(e.budget_bytes) << " = weights "
        << format_gib(e.resident_weight_bytes) << " + activations "
        << format_gib(e.activation_bytes) << " + runtime " << format_gib(e.overhead_bytes)
        << " + KV " << format_gib(e.kv_bytes) << "\n";
    out << "  KV cache: " << e.kv_capacity_tokens << " tokens (" << e.kv_blocks << " blocks), "
        << e.kv_capacity_sequences << " sequences of " << e.tokens_per_sequence << "; target "
        << inst.kv_target_tokens << " tokens\n";
    out << "  weighed:\n";
    for (const Candidate& c : inst.candidates) {
      out << "    " << weight_layout_name(c.layout) << " + " << enum_name(c.kv_cache_dtype)
          << " KV: weights " << format_gib(c.memory.weights.per_device) << "/device, "
          << (c.memory.fits ? std::to_string(c.memory.kv_capacity_tokens) + " KV tokens"
                            : std::string("does not fit"))
          << (c.meets_target ? " (meets target)" : "") << "\n";
    }
  }
  out << "\nThe figures are upper bounds from datasheet bandwidth; see docs/advisor.md for the "
         "assumptions.\n";
  return out.str();
}

std::string advice_to_yaml(const Advice& a) {
  std::ostringstream out;
  std::string title = header(a);
  for (size_t at = title.find('\n'); at != std::string::npos; at = title.find('\n', at + 1))
    title.insert(at + 1, "# ");
  out << "# localmoe advise: " << title << "\n";
  if (!a.feasible) {
    out << "# refused: " << a.refusal << "\n";
    return out.str();
  }
  for (const InstanceAdvice& inst : a.instances) {
    out << "# " << inst.model.id << "\n";
    for (const Decision& d : inst.decisions)
      out << "#   " << d.field << " = " << d.value << ": " << d.reason << "\n";
  }
  Config config = a.config;
  config.source.clear();
  out << config_to_yaml(config, /*redact_secrets=*/false);
  return out.str();
}

std::string advice_to_json(const Advice& a) {
  using nlohmann::json;
  json j;
  j["scenario"] = enum_name(a.scenario);
  j["hardware"] = {{"id", a.hardware.id},
                   {"name", a.hardware.name},
                   {"count", a.gpus},
                   {"memory_bytes", a.hardware.memory_bytes},
                   {"bandwidth_gb_s", a.hardware.bandwidth_gb_s},
                   {"source", a.hardware.source}};
  if (a.hardware.is_cpu) {
    j["hardware"]["cores"] = a.hardware.cores;
    j["hardware"]["isa"] = a.hardware.isa;
  }
  j["feasible"] = a.feasible;
  if (!a.feasible) {
    j["refusal"] = a.refusal;
    return j.dump(2);
  }
  j["instances"] = json::array();
  for (const InstanceAdvice& inst : a.instances) {
    const MemoryEstimate& e = inst.memory;
    json i;
    i["model"] = inst.model.id;
    i["devices"] = inst.devices;
    json decisions = json::array();
    for (const Decision& d : inst.decisions)
      decisions.push_back({{"field", d.field}, {"value", d.value}, {"reason", d.reason}});
    i["decisions"] = decisions;
    i["memory"] = {{"parameters", e.weights.parameters},
                   {"weight_bytes_total", e.weights.total},
                   {"weight_bytes_per_device", e.weights.per_device},
                   {"expert_bytes_per_device", e.weights.expert_per_device},
                   {"activation_bytes", e.activation_bytes},
                   {"overhead_bytes", e.overhead_bytes},
                   {"budget_bytes", e.budget_bytes},
                   {"kv_bytes", e.kv_bytes},
                   {"kv_bytes_per_token", e.kv_bytes_per_token},
                   {"kv_capacity_tokens", e.kv_capacity_tokens},
                   {"kv_capacity_sequences", e.kv_capacity_sequences},
                   {"kv_target_tokens", inst.kv_target_tokens}};
    i["decode"] = {{"single_tokens_per_s", inst.single.tokens_per_second},
                   {"batch", inst.batch.batch},
                   {"batch_tokens_per_s", inst.batch.tokens_per_second},
                   {"batch_compute_bound", inst.batch.compute_bound}};
    j["instances"].push_back(i);
  }
  j["config_yaml"] = config_to_yaml(a.config, /*redact_secrets=*/false);
  return j.dump(2);
}

}  // namespace localmoe
