// Cross-field and model-dependent checks: each message names the key, the
// value and a fix.

#include "localmoe/config/config_validate.h"

#include <gtest/gtest.h>

#include "config/config_test_util.h"

namespace localmoe {
namespace {

using testing::dump;
using testing::find_diagnostic;
using testing::hermetic_options;
using testing::load_errors;
using testing::load_text;

// Errors about `key` for a config made of `yaml`.
std::vector<ConfigDiagnostic> errors_for(const std::string& yaml) {
  return load_errors(yaml);
}

TEST(ConfigValidate, TensorParallelSizeMustDivideHeads) {
  auto errors = errors_for(
      "engine:\n  model_name: meta-llama/Llama-2-13b-chat-hf\n  tensor_parallel_size: 3\n");
  const ConfigDiagnostic* d = find_diagnostic(errors, "engine.tensor_parallel_size",
                                              "3 does not divide the 40 attention heads");
  ASSERT_NE(d, nullptr) << dump(errors);
  EXPECT_NE(d->message.find("use one of 1, 2, 4, 5, 8, 10, 20, 40"), std::string::npos)
      << d->message;
  EXPECT_EQ(d->location.to_string(), "test.yaml:3:25");

  // 32 heads divide by 16, and 16 is a multiple of Mistral's 8 KV heads: replicated, with a notice.
  const LoadedConfig ok = load_text(
      "gpu: {memory_limit_gb: 80}\nengine:\n  model_name: mistralai/Mistral-7B-Instruct-v0.2\n"
      "  tensor_parallel_size: 16\n  max_model_len: 4096\n");
  EXPECT_NE(find_diagnostic(ok.notices, "engine.tensor_parallel_size", "replicated on 2 devices"),
            nullptr)
      << dump(ok.notices);

  // Llama-2-70B: 24 divides neither its 64 heads nor its 8 KV heads.
  errors = errors_for(
      "engine:\n  model_name: meta-llama/Llama-2-70b-chat-hf\n  tensor_parallel_size: 24\n");
  EXPECT_NE(find_diagnostic(errors, "engine.tensor_parallel_size",
                            "does not divide the 64 attention heads"),
            nullptr)
      << dump(errors);
}

TEST(ConfigValidate, RuntimeThreadsAndKernels) {
  const auto errors =
      errors_for("runtime:\n  num_threads: -1\n  kernels: \"\"\n  log_level: info\n");
  const ConfigDiagnostic* threads = find_diagnostic(
      errors, "runtime.num_threads", "must be in [0, 1024] (0 = one per core), got -1");
  ASSERT_NE(threads, nullptr) << dump(errors);
  EXPECT_EQ(threads->location.to_string(), "test.yaml:2:16");
  const ConfigDiagnostic* kernels =
      find_diagnostic(errors, "runtime.kernels", "must name a kernel variant");
  ASSERT_NE(kernels, nullptr) << dump(errors);
  EXPECT_EQ(kernels->location.to_string(), "test.yaml:3:12");
  EXPECT_EQ(errors.size(), 2u) << dump(errors);

  const LoadedConfig ok = load_text("runtime:\n  num_threads: 4\n  kernels: generic\n");
  EXPECT_EQ(ok.config.runtime.num_threads, 4);
  EXPECT_EQ(ok.config.runtime.kernels, "generic");
}

TEST(ConfigValidate, MaxModelLenWithinTheModelsContext) {
  auto errors = errors_for("engine:\n  model_name: llama-2-7b\n  max_model_len: 8192\n");
  const ConfigDiagnostic* d =
      find_diagnostic(errors, "engine.max_model_len", "8192 exceeds the 4096-token context");
  ASSERT_NE(d, nullptr) << dump(errors);
  EXPECT_NE(d->message.find("set at most 4096"), std::string::npos);

  errors = errors_for("model:\n  max_sequence_length: 2048\nengine:\n  max_model_len: 1024\n");
  EXPECT_NE(find_diagnostic(errors, "model.max_sequence_length",
                            "disagrees with engine.max_model_len 1024"),
            nullptr)
      << dump(errors);

  errors = errors_for(
      "engine:\n  model_name: llama-2-7b\n  enable_chunked_prefill: false\n  "
      "max_num_batched_tokens: 2048\n");
  EXPECT_NE(find_diagnostic(errors, "engine.max_num_batched_tokens",
                            "below max_model_len 4096 with chunked prefill off"),
            nullptr)
      << dump(errors);
}

TEST(ConfigValidate, RangesOfSingleFields) {
  auto errors = errors_for(R"(gpu:
  memory_limit_gb: -1
  temperature_threshold: 500
model:
  num_experts: 2
  top_k_experts: 3
engine:
  tensor_parallel_size: 0
  gpu_memory_utilization: 1.5
  max_model_len: 0
  block_size: 24
  swap_space: -2
  num_gpu_blocks_override: 0
  max_num_seqs: 64
  max_num_batched_tokens: 32
  max_chunked_prefill_tokens: 64
server:
  host: ""
  port: 70000
  api_key: ""
  max_request_body_bytes: 10
  max_queued_requests: 0
  num_http_threads: 0
moe:
  expert_cache_gb: -1
  prefetch_experts: -1
)");
  for (const auto& [key, fragment] : std::vector<std::pair<std::string, std::string>>{
           {"gpu.memory_limit_gb", "must be in [0, 1048576] GiB"},
           {"gpu.temperature_threshold", "(0, 125]"},
           {"model.top_k_experts", "only 2 experts"},
           {"engine.tensor_parallel_size", "[1, 1024], got 0"},
           {"engine.gpu_memory_utilization", "(0, 1], got 1.5"},
           {"engine.max_model_len", "[1, 16777216], got 0"},
           {"engine.block_size", "one of 8, 16, 32, 64, 128, got 24"},
           {"engine.swap_space", "[0, 1048576] GiB, got -2.0"},
           {"engine.num_gpu_blocks_override", "must be >= 1 block, got 0"},
           {"engine.max_num_batched_tokens", "32 is below max_num_seqs 64"},
           {"engine.max_chunked_prefill_tokens", "64 exceeds max_num_batched_tokens 32"},
           {"server.host", "must not be empty"},
           {"server.port", "[0, 65535]"},
           {"server.api_key", "is empty"},
           {"server.max_request_body_bytes", ">= 1024"},
           {"server.max_queued_requests", ">= 1"},
           {"server.num_http_threads", "[1, 1024]"},
           {"moe.expert_cache_gb", "[0, 1048576] GiB"},
           {"moe.prefetch_experts", ">= 0"},
       }) {
    EXPECT_NE(find_diagnostic(errors, key, fragment), nullptr) << key << ": " << fragment << "\n"
                                                               << dump(errors);
  }
  EXPECT_EQ(errors.size(), 19u) << dump(errors);

  // Upper bounds keep the memory arithmetic exact.
  errors = errors_for(R"(gpu: {memory_limit_gb: 1e300}
engine: {model_name: llama-2-7b, max_num_batched_tokens: 1000000000000, max_num_seqs: 99999999, max_model_len: 99999999}
moe: {expert_cache_gb: 1e20}
)");
  for (const char* key : {"gpu.memory_limit_gb", "engine.max_num_batched_tokens",
                          "engine.max_num_seqs", "engine.max_model_len", "moe.expert_cache_gb"}) {
    EXPECT_NE(find_diagnostic(errors, key, "must be in ["), nullptr) << key << "\n" << dump(errors);
  }
}

TEST(ConfigValidate, QuantizationMatchesTheCheckpoint) {
  auto errors =
      errors_for("engine:\n  model_name: meta-llama/Llama-2-13b-chat-hf\n  quantization: awq\n");
  EXPECT_NE(find_diagnostic(errors, "engine.quantization", "awq needs a pre-quantized checkpoint"),
            nullptr)
      << dump(errors);

  errors =
      errors_for("engine:\n  model_name: TheBloke/Llama-2-70B-Chat-AWQ\n  quantization: gptq\n");
  EXPECT_NE(find_diagnostic(errors, "engine.quantization",
                            "pre-quantized with awq; set quantization: awq"),
            nullptr)
      << dump(errors);

  errors = errors_for(
      "engine:\n  model_name: TheBloke/CodeLlama-13B-Instruct-GPTQ\n  quantization: gptq\n  "
      "tensor_parallel_size: 5\n");
  EXPECT_NE(find_diagnostic(errors, "engine.tensor_parallel_size",
                            "not a multiple of the gptq group size 128"),
            nullptr)
      << dump(errors);

  errors = errors_for("model:\n  quantization_type: awq\nengine:\n  quantization: fp8\n");
  EXPECT_NE(find_diagnostic(errors, "model.quantization_type", "engine.quantization is fp8"),
            nullptr)
      << dump(errors);

  // A pre-quantized checkpoint with quantization unset uses its own format.
  const LoadedConfig ok = load_text(
      "gpu: {memory_limit_gb: 48}\nengine:\n  model_name: TheBloke/Llama-2-70B-Chat-AWQ\n  "
      "tensor_parallel_size: 4\n");
  EXPECT_NE(find_diagnostic(ok.notices, "engine.quantization", "checkpoint's own awq format"),
            nullptr)
      << dump(ok.notices);
}

TEST(ConfigValidate, ModelMustFitTheBudget) {
  // Mixtral-8x7B in 16-bit over two 44.98 GiB devices: 46.7e9 parameters x 2 bytes / 2 > 0.9
  // x 44.98 GiB.
  auto errors = errors_for(
      "gpu: {memory_limit_gb: 44.98}\nengine:\n  model_name: mixtral-8x7b\n  tensor_parallel_size: "
      "2\n");
  const ConfigDiagnostic* d =
      find_diagnostic(errors, "engine.model_name", "does not fit: per device, weights 43.50 GiB");
  ASSERT_NE(d, nullptr) << dump(errors);
  EXPECT_NE(d->message.find("exceed the budget 0.9 x 44.98 GiB = 40.48 GiB"), std::string::npos)
      << d->message;

  // Llama-2-7B: 12.55 GiB of weights fit 14 GiB, but the ~0.7 GiB left holds fewer than 4096 tokens
  // of KV.
  errors = errors_for(
      "gpu: {memory_limit_gb: 14}\nengine:\n  model_name: llama-2-7b\n  gpu_memory_utilization: "
      "1.0\n");
  d = find_diagnostic(errors, "engine.max_model_len",
                      "4096 tokens of KV (2.00 GiB per device) do not fit");
  ASSERT_NE(d, nullptr) << dump(errors);
  EXPECT_NE(d->message.find("kv_cache_dtype fp8_e5m2"), std::string::npos) << d->message;
}

TEST(ConfigValidate, InstancesOwnTheirDevices) {
  auto errors = errors_for(R"(gpu: {memory_limit_gb: 48}
engine:
  max_model_len: 4096
instances:
  - model_name: mistral-7b
    tensor_parallel_size: 2
    gpu_devices: [0, 1]
  - model_name: mistral-7b
    tensor_parallel_size: 2
    gpu_devices: [1, 1, 2]
)");
  EXPECT_NE(find_diagnostic(errors, "instances[1].model_name",
                            "two instances are served as 'mistral-7b'"),
            nullptr)
      << dump(errors);
  EXPECT_NE(find_diagnostic(errors, "instances[1].gpu_devices", "lists a device twice"), nullptr)
      << dump(errors);
  EXPECT_NE(find_diagnostic(errors, "instances[1].gpu_devices",
                            "lists 3 devices but tensor_parallel_size is 2"),
            nullptr)
      << dump(errors);
  EXPECT_NE(find_diagnostic(errors, "instances", "device 1 is shared by 2 instances"), nullptr)
      << dump(errors);

  // Sharing a device is fine when the shares add up to at most the whole.
  const LoadedConfig ok = load_text(R"(gpu: {memory_limit_gb: 48}
engine: {max_model_len: 4096, gpu_memory_utilization: 0.45}
instances:
  - {model_name: mistral-7b, name: a, gpu_devices: [0]}
  - {model_name: mistral-7b, name: b, gpu_devices: [0]}
)");
  EXPECT_EQ(ok.config.instances.size(), 2u);
}

TEST(ConfigValidate, ExpertsAgreeWithAnMoeCheckpoint) {
  auto errors = errors_for(R"(gpu: {memory_limit_gb: 48}
model: {num_experts: 16, top_k_experts: 1}
engine: {model_name: TheBloke/Mixtral-8x7B-Instruct-v0.1-AWQ, tensor_parallel_size: 2, max_model_len: 4096}
moe: {prefetch_experts: 9, expert_cache_gb: 0.05}
)");
  EXPECT_NE(find_diagnostic(errors, "model.num_experts", "16 disagrees with the 8 experts"),
            nullptr)
      << dump(errors);
  EXPECT_NE(
      find_diagnostic(errors, "model.top_k_experts", "1 disagrees with the 2 experts per token"),
      nullptr)
      << dump(errors);
  EXPECT_NE(find_diagnostic(errors, "moe.prefetch_experts", "exceeds the 8 experts"), nullptr)
      << dump(errors);
  EXPECT_NE(
      find_diagnostic(errors, "moe.expert_cache_gb", "cannot hold the 2 experts one token needs"),
      nullptr)
      << dump(errors);
}

TEST(ConfigValidate, FormatsAndFiles) {
  auto errors = errors_for(R"(engine:
  load_format: gguf
  kv_cache_dtype: auto
  quantization_param_path: scales.json
)");
  EXPECT_NE(find_diagnostic(errors, "engine.load_format", "not a .gguf file"), nullptr)
      << dump(errors);
  EXPECT_NE(find_diagnostic(errors, "engine.quantization_param_path", "cannot read 'scales.json'"),
            nullptr)
      << dump(errors);

  const LoadedConfig ok =
      load_text("engine:\n  kv_cache_dtype: fp8\n  quantization_param_path: scales.json\n",
                hermetic_options({{"scales.json", "{}"}}));
  EXPECT_EQ(ok.config.engine.kv_cache_dtype, KvCacheDtype::kFp8E4M3);
  errors = errors_for("engine:\n  model_name: m.gguf\n  load_format: safetensors\n");
  EXPECT_NE(find_diagnostic(errors, "engine.load_format", "is a .gguf file"), nullptr)
      << dump(errors);
}

TEST(ConfigValidate, NoticesForUnknownModelsAndNoOps) {
  const LoadedConfig loaded = load_text(R"(model:
  enable_compilation: true
engine:
  model_name: someone/unknown-model
  enable_chunked_prefill: false
  max_chunked_prefill_tokens: 512
)");
  EXPECT_NE(
      find_diagnostic(loaded.notices, "engine.model_name", "checks that need its architecture"),
      nullptr)
      << dump(loaded.notices);
  EXPECT_NE(find_diagnostic(loaded.notices, "model.enable_compilation", "no effect"), nullptr)
      << dump(loaded.notices);
  EXPECT_NE(find_diagnostic(loaded.notices, "engine.max_chunked_prefill_tokens", "no effect"),
            nullptr)
      << dump(loaded.notices);
}

TEST(ConfigValidate, ValueErrorsSuppressDependentChecks) {
  // block_size did not parse: no second complaint about it from the range checks.
  auto errors = errors_for("engine:\n  block_size: big\n");
  ASSERT_EQ(errors.size(), 1u) << dump(errors);
}

}  // namespace
}  // namespace localmoe

namespace localmoe {
namespace {

// A model made up for the checks the catalog cannot reach: 12 heads over 4 KV heads.
ModelSpec odd_model() {
  ModelSpec spec = *find_catalog_model("llama-2-7b");
  spec.id = "test/odd";
  spec.arch.num_heads = 12;
  spec.arch.num_kv_heads = 4;
  spec.arch.hidden_size = 768;
  spec.arch.head_dim = 64;
  return spec;
}

TEST(ConfigValidate, KvHeadsMustDivideOrBeDividedByTensorParallelSize) {
  LoadOptions options = testing::hermetic_options();
  options.resolve_model = [](const std::string&) { return std::optional<ModelSpec>(odd_model()); };
  auto errors =
      testing::load_errors("engine:\n  model_name: test/odd\n  tensor_parallel_size: 6\n", options);
  EXPECT_NE(
      testing::find_diagnostic(
          errors, "engine.tensor_parallel_size",
          "6 neither divides nor is a multiple of the 4 KV heads of test/odd; use one of 1, 2, 4"),
      nullptr)
      << testing::dump(errors);
}

TEST(ConfigValidate, BrokenModelFilesAreReportedNotThrown) {
  LoadOptions options = testing::hermetic_options();
  options.resolve_model = [](const std::string&) -> std::optional<ModelSpec> {
    throw make_error(ErrorKind::kInvalidArgument, "hidden_size: expected an integer");
  };
  auto errors = testing::load_errors("engine:\n  model_name: models/broken\n", options);
  EXPECT_NE(
      testing::find_diagnostic(errors, "engine.model_name", "cannot read the model: hidden_size"),
      nullptr)
      << testing::dump(errors);
}

TEST(ConfigValidate, DenseModelsIgnoreTheExpertCache) {
  const LoadedConfig loaded =
      testing::load_text("engine: {model_name: llama-2-7b}\nmoe: {expert_cache_gb: 4}\n");
  EXPECT_NE(testing::find_diagnostic(loaded.notices, "moe.expert_cache_gb", "dense model"), nullptr)
      << testing::dump(loaded.notices);
  auto errors =
      testing::load_errors("instances:\n  - {model_name: llama-2-7b, gpu_devices: [-1]}\n");
  EXPECT_NE(
      testing::find_diagnostic(errors, "instances[0].gpu_devices", "device index -1 is negative"),
      nullptr)
      << testing::dump(errors);
}

}  // namespace
}  // namespace localmoe
