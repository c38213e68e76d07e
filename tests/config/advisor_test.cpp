// The advisor on the seeds' scenarios: its choices, its refusals, and that
// its YAML is a config the loader accepts.

#include "localmoe/config/advisor.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "config/config_test_util.h"

namespace localmoe {
namespace {

using testing::dump;
using testing::hermetic_options;

AdviceRequest request(std::vector<const char*> models, Scenario scenario, const char* hardware,
                      int64_t gpus) {
  AdviceRequest r;
  for (const char* id : models) r.models.push_back(*find_catalog_model(id));
  r.scenario = scenario;
  r.hardware = *find_hardware(hardware);
  r.gpus = gpus;
  return r;
}

const Decision* decision(const InstanceAdvice& a, const std::string& field) {
  for (const Decision& d : a.decisions) {
    if (d.field == field) return &d;
  }
  return nullptr;
}

// The advice's YAML loads and validates with the hardware's memory.
void expect_yaml_loads(const Advice& advice) {
  LoadOptions options = hermetic_options();
  options.device_memory_bytes = advice.hardware.memory_bytes;
  options.runtime_overhead_bytes = advice.hardware.runtime_overhead_bytes;
  const std::string yaml = advice_to_yaml(advice);
  try {
    const LoadedConfig loaded = testing::load_text(yaml, options);
    EXPECT_EQ(loaded.config.served_instances().size(), advice.instances.size());
  } catch (const ConfigError& e) {
    ADD_FAILURE() << e.what() << "\n" << yaml;
  }
}

// The seeds: "only 30B fits without quantization". For a chat deployment of
// Llama-2-70B on 4x L40S the advisor keeps 16-bit weights: they fit and leave
// KV for 64 typical conversations.
TEST(Advisor, Llama70bChatOnFourL40sStays16Bit) {
  const Advice a = advise(request({"meta-llama/Llama-2-70b-chat-hf"}, Scenario::kChat, "l40s", 4));
  ASSERT_TRUE(a.feasible) << a.refusal;
  const InstanceAdvice& i = a.instances.at(0);
  EXPECT_FALSE(i.engine.quantization.has_value());
  EXPECT_EQ(i.engine.tensor_parallel_size, 4);
  EXPECT_EQ(i.engine.max_model_len, 4096);  // the model's limit, below chat's 8192
  EXPECT_EQ(i.engine.kv_cache_dtype, KvCacheDtype::kAuto);
  EXPECT_GE(i.memory.kv_capacity_tokens, 64 * 1024);
  EXPECT_EQ(i.engine.max_num_seqs % 8, 0);
  EXPECT_LE(i.engine.max_num_seqs * 1024, i.memory.kv_capacity_tokens);
  for (const char* field :
       {"quantization", "kv_cache_dtype", "tensor_parallel_size", "max_model_len", "max_num_seqs",
        "max_num_batched_tokens", "block_size", "enable_chunked_prefill", "decode estimate"}) {
    EXPECT_NE(decision(i, field), nullptr) << field;
  }
  EXPECT_NE(decision(i, "quantization")->reason.find("32.12 GiB per device"), std::string::npos)
      << decision(i, "quantization")->reason;
  expect_yaml_loads(a);
}

TEST(Advisor, HighThroughputUsesFp8WhereTheHardwareHasIt) {
  const Advice l40s = advise(request({"mixtral-8x7b"}, Scenario::kHighThroughput, "l40s", 2));
  ASSERT_TRUE(l40s.feasible) << l40s.refusal;
  EXPECT_EQ(l40s.instances[0].engine.quantization, Quantization::kFp8);
  EXPECT_EQ(l40s.instances[0].engine.kv_cache_dtype, KvCacheDtype::kFp8E5M2);
  EXPECT_EQ(l40s.instances[0].engine.max_num_batched_tokens, 16384);
  expect_yaml_loads(l40s);

  // The A100 has no FP8 tensor cores: never FP8 weights there.
  const Advice a100 = advise(request({"mixtral-8x7b"}, Scenario::kHighThroughput, "a100_80gb", 2));
  ASSERT_TRUE(a100.feasible) << a100.refusal;
  EXPECT_NE(a100.instances[0].engine.quantization, Quantization::kFp8);
  expect_yaml_loads(a100);
}

TEST(Advisor, LowLatencyKeepsStepsShort) {
  const Advice a = advise(request({"mistral-7b"}, Scenario::kLowLatency, "l40s", 4));
  ASSERT_TRUE(a.feasible) << a.refusal;
  const InstanceAdvice& i = a.instances[0];
  EXPECT_EQ(i.engine.quantization, Quantization::kFp8);
  EXPECT_EQ(i.engine.tensor_parallel_size, 4);
  EXPECT_LE(i.engine.max_num_seqs, 16);
  EXPECT_EQ(i.engine.max_num_batched_tokens, 2048);
  EXPECT_EQ(i.engine.max_chunked_prefill_tokens, 512);
  EXPECT_FALSE(i.single.compute_bound);
  expect_yaml_loads(a);
}

TEST(Advisor, CodeUsesTheLongContextAndAPreQuantizedCheckpointKeepsItsFormat) {
  const Advice a =
      advise(request({"TheBloke/CodeLlama-13B-Instruct-GPTQ"}, Scenario::kCode, "l40s", 4));
  ASSERT_TRUE(a.feasible) << a.refusal;
  const InstanceAdvice& i = a.instances[0];
  EXPECT_EQ(i.engine.quantization, Quantization::kGptq);
  EXPECT_EQ(i.engine.max_model_len, 16384);
  // 40 heads and GPTQ groups of 128 allow 4: 13824 / 4 = 3456 = 27 groups.
  EXPECT_EQ(i.engine.tensor_parallel_size, 4);
  expect_yaml_loads(a);
}

TEST(Advisor, MultiModelSplitsTheDevices) {
  const Advice a =
      advise(request({"codellama-13b", "mistral-7b"}, Scenario::kMultiModel, "l40s", 4));
  ASSERT_TRUE(a.feasible) << a.refusal;
  ASSERT_EQ(a.instances.size(), 2u);
  EXPECT_EQ(a.instances[0].devices, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(a.instances[1].devices, (std::vector<int64_t>{2, 3}));
  ASSERT_EQ(a.config.instances.size(), 2u);
  EXPECT_EQ(a.config.instances[1].engine.model_name, "mistralai/Mistral-7B-Instruct-v0.2");
  expect_yaml_loads(a);

  EXPECT_FALSE(advise(request({"mistral-7b"}, Scenario::kMultiModel, "l40s", 4)).feasible);
  EXPECT_FALSE(advise(request({"mistral-7b", "llama-2-7b"}, Scenario::kChat, "l40s", 4)).feasible);
  const Advice crowded = advise(
      request({"mistral-7b", "llama-2-7b", "codellama-13b"}, Scenario::kMultiModel, "l4", 2));
  EXPECT_FALSE(crowded.feasible);
  EXPECT_NE(crowded.refusal.find("3 models need at least 3 devices, have 2"), std::string::npos)
      << crowded.refusal;
}

// An impossible request is refused with the arithmetic.
TEST(Advisor, RefusesWithTheArithmetic) {
  const Advice a = advise(request({"llama-2-70b"}, Scenario::kChat, "l4", 1));
  ASSERT_FALSE(a.feasible);
  EXPECT_NE(a.refusal.find("does not fit 1 x NVIDIA L4"), std::string::npos) << a.refusal;
  EXPECT_NE(a.refusal.find("16-bit weights, auto KV: weights 128.48 GiB"), std::string::npos)
      << a.refusal;
  EXPECT_NE(a.refusal.find("over the budget by"), std::string::npos) << a.refusal;
  EXPECT_NE(a.refusal.find("4-bit AWQ checkpoint"), std::string::npos) << a.refusal;
  EXPECT_NE(advice_to_table(a).find("refused:"), std::string::npos);
}

TEST(Advisor, QuantizesWhen16BitDoesNotFit) {
  // Llama-2-13B: 24.24 GiB of 16-bit weights exceed 0.9 x 23.99 GiB of an RTX 4090; FP8 fits.
  const Advice a = advise(request({"llama-2-13b"}, Scenario::kChat, "rtx4090", 1));
  ASSERT_TRUE(a.feasible) << a.refusal;
  EXPECT_EQ(a.instances[0].engine.quantization, Quantization::kFp8);
  EXPECT_FALSE(a.instances[0].candidates.at(0).memory.weights_fit);  // 16-bit was weighed first
  // 800 KiB of KV per token (40 KV heads): no format holds 64 x 1024 tokens, so the most KV wins.
  EXPECT_NE(
      decision(a.instances[0], "quantization")->reason.find("no format reaches the KV target"),
      std::string::npos);
  expect_yaml_loads(a);
}

TEST(Advisor, ShortensTheContextBeforeRefusing) {
  // Mistral-7B in FP8 on an RTX 4090 limited to 37%: no room for 8192 tokens of KV.
  AdviceRequest r = request({"mistral-7b"}, Scenario::kChat, "rtx4090", 1);
  r.gpu_memory_utilization = 0.37;
  const Advice a = advise(r);
  ASSERT_TRUE(a.feasible) << a.refusal;
  EXPECT_LT(a.instances[0].engine.max_model_len, 8192);
  EXPECT_NE(decision(a.instances[0], "max_model_len")->reason.find("shortened"), std::string::npos);
  expect_yaml_loads(a);
}

TEST(Advisor, JsonCarriesTheNumbers) {
  const Advice a = advise(request({"llama-2-70b"}, Scenario::kChat, "l40s", 4));
  const nlohmann::json j = nlohmann::json::parse(advice_to_json(a));
  EXPECT_TRUE(j["feasible"].get<bool>());
  const auto& memory = j["instances"][0]["memory"];
  EXPECT_EQ(memory["parameters"].get<int64_t>(), 68'976'648'192);
  EXPECT_EQ(memory["kv_capacity_tokens"].get<int64_t>(), a.instances[0].memory.kv_capacity_tokens);
  EXPECT_GT(j["instances"][0]["decode"]["single_tokens_per_s"].get<double>(), 0.0);
  EXPECT_NE(j["config_yaml"].get<std::string>().find("tensor_parallel_size: 4"), std::string::npos);
}

}  // namespace
}  // namespace localmoe
