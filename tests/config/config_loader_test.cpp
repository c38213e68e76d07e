// The YAML loader: seeds' files and aliases, profiles and extends, --set and
// the environment, and every problem reported at once with its position.

#include "localmoe/config/config_loader.h"

#include <gtest/gtest.h>

#include "config/config_test_util.h"
#include "localmoe/config/config_dump.h"

namespace localmoe {
namespace {

using testing::dump;
using testing::find_diagnostic;
using testing::hermetic_options;
using testing::load_errors;
using testing::load_text;

TEST(ConfigLoader, DefaultsNeedNoFile) {
  const LoadedConfig loaded = load_config(hermetic_options());
  EXPECT_EQ(loaded.config.engine.model_name, "models/demo");
  EXPECT_EQ(loaded.config.engine.block_size, 16);
  EXPECT_EQ(loaded.config.server.port, 8000);
  EXPECT_TRUE(loaded.config.instances.empty());
  ASSERT_EQ(loaded.config.served_instances().size(), 1u);
}

// The first seeds' config.yaml, verbatim: `vllm:` loads as `engine:`, the
// model architecture keys are ignored with a notice, and the validator
// finds the real mistake: DialoGPT-medium has a 1024-token context.
TEST(ConfigLoader, SeedsConfigLoadsAndItsContextLengthIsCaught) {
  const std::string seeds = R"(model:
  num_experts: 8
  top_k_experts: 2
  hidden_size: 768
  intermediate_size: 3072
  max_sequence_length: 2048
  quantization_type: "fp16"
  enable_compilation: true
vllm:
  model_name: "microsoft/DialoGPT-medium"
  tensor_parallel_size: 4
  gpu_memory_utilization: 0.9
  max_model_len: 2048
  block_size: 16
  swap_space: 4
  max_num_batched_tokens: 8192
  enable_prefix_caching: true
  quantization: null
)";
  const std::vector<ConfigDiagnostic> errors = load_errors(seeds);
  ASSERT_EQ(errors.size(), 1u) << dump(errors);
  EXPECT_EQ(errors[0].key, "engine.max_model_len");
  EXPECT_NE(errors[0].message.find("exceeds the 1024-token context"), std::string::npos)
      << errors[0].message;
  EXPECT_EQ(errors[0].location.to_string(), "test.yaml:13:18");

  // With the context fixed the same file loads; the ignored keys are noticed.
  std::string fixed = seeds;
  fixed.replace(fixed.find("max_sequence_length: 2048"), 25, "max_sequence_length: 1024");
  fixed.replace(fixed.find("max_model_len: 2048"), 19, "max_model_len: 1024");
  const LoadedConfig loaded = load_text(fixed);
  EXPECT_EQ(loaded.config.engine.model_name, "microsoft/DialoGPT-medium");
  EXPECT_EQ(loaded.config.engine.tensor_parallel_size, 4);
  EXPECT_FALSE(loaded.config.engine.quantization.has_value());
  EXPECT_EQ(loaded.config.model.quantization_type, WeightFormat::kFp16);
  EXPECT_NE(find_diagnostic(loaded.notices, "model.hidden_size", "config.json"), nullptr)
      << dump(loaded.notices);
  EXPECT_NE(find_diagnostic(loaded.notices, "model.num_experts", "dense model"), nullptr)
      << dump(loaded.notices);
}

// The seeds' L40S snippet, with its no-op key.
TEST(ConfigLoader, SeedsL40sSnippetLoads) {
  const LoadedConfig loaded = load_text(R"(gpu:
  memory_limit_gb: 48.0
  temperature_threshold: 80.0
model:
  max_sequence_length: 4096
  quantization_type: "awq"
vllm:
  model_name: "TheBloke/Llama-2-70B-Chat-AWQ"
  quantization: "awq"
  tensor_parallel_size: 4
  gpu_memory_utilization: 0.85
  block_size: 32
  use_v2_block_manager: true
  enable_chunked_prefill: true
  max_num_batched_tokens: 16384
)");
  EXPECT_EQ(loaded.config.engine.block_size, 32);
  EXPECT_EQ(loaded.config.engine.quantization, Quantization::kAwq);
  EXPECT_EQ(loaded.config.engine.max_model_len, 4096);  // from model.max_sequence_length
  EXPECT_DOUBLE_EQ(loaded.config.gpu.memory_limit_gb, 48.0);
  const ConfigDiagnostic* noop =
      find_diagnostic(loaded.notices, "engine.use_v2_block_manager", "no effect");
  ASSERT_NE(noop, nullptr) << dump(loaded.notices);
  EXPECT_EQ(noop->location.to_string(), "test.yaml:13:3");
}

TEST(ConfigLoader, InstancesAliasInheritsEngine) {
  const LoadedConfig loaded = load_text(R"(engine:
  max_num_seqs: 32
vllm_instances:
  - model_name: codellama/CodeLlama-13b-Instruct-hf
    tensor_parallel_size: 2
    gpu_devices: [0, 1]
  - model_name: mistralai/Mistral-7B-Instruct-v0.2
    tensor_parallel_size: 2
    gpu_devices: [2, 3]
    max_num_seqs: 8
)");
  const auto& instances = loaded.config.instances;
  ASSERT_EQ(instances.size(), 2u);
  EXPECT_EQ(instances[0].engine.model_name, "codellama/CodeLlama-13b-Instruct-hf");
  EXPECT_EQ(instances[0].engine.max_num_seqs, 32);
  EXPECT_EQ(instances[1].engine.max_num_seqs, 8);
  EXPECT_EQ(instances[1].gpu_devices, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(loaded.sources.at("instances[1].max_num_seqs").to_string(), "test.yaml:10:19");
}

TEST(ConfigLoader, EveryProblemAtOnceWithPositionsAndSuggestions) {
  const std::vector<ConfigDiagnostic> errors = load_errors(R"(engine:
  max_num_seq: 64
  block_size: abc
  quantization: squeezellm
  trust_remote_code: true
  kv_cache_dtype: fp8_e5m
servr:
  port: 1
)");
  ASSERT_EQ(errors.size(), 6u) << dump(errors);
  const ConfigDiagnostic* unknown =
      find_diagnostic(errors, "engine.max_num_seq", "did you mean 'max_num_seqs'?");
  ASSERT_NE(unknown, nullptr) << dump(errors);
  EXPECT_EQ(unknown->location.to_string(), "test.yaml:2:3");
  const ConfigDiagnostic* type =
      find_diagnostic(errors, "engine.block_size", "expected an integer, got 'abc'");
  ASSERT_NE(type, nullptr) << dump(errors);
  EXPECT_EQ(type->location.to_string(), "test.yaml:3:15");
  EXPECT_NE(find_diagnostic(errors, "engine.quantization", "SqueezeLLM was removed"), nullptr)
      << dump(errors);
  EXPECT_NE(find_diagnostic(errors, "engine.trust_remote_code", "never runs Python code"), nullptr)
      << dump(errors);
  EXPECT_NE(find_diagnostic(errors, "engine.kv_cache_dtype", "did you mean 'fp8_e5m2'?"), nullptr)
      << dump(errors);
  const ConfigDiagnostic* section = find_diagnostic(errors, "servr", "did you mean 'server'?");
  ASSERT_NE(section, nullptr) << dump(errors);
  EXPECT_EQ(section->location.to_string(), "test.yaml:7:1");
}

TEST(ConfigLoader, ErrorTextListsOneProblemPerLine) {
  try {
    load_text("engine:\n  block_size: 7\n  max_num_seqs: 0\n");
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    const std::string text = e.what();
    EXPECT_NE(text.find("2 problems in the configuration:\n  test.yaml:2:15: engine.block_size: "
                        "must be one of"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("\n  test.yaml:3:17: engine.max_num_seqs: must be in [1, 1048576], got 0"),
              std::string::npos)
        << text;
  }
}

TEST(ConfigLoader, TypeErrorsNameWhatWasExpected) {
  const std::vector<ConfigDiagnostic> errors = load_errors(R"(gpu:
  memory_limit_gb: [1]
engine:
  enable_prefix_caching: yes
  gpu_memory_utilization: .nan
  max_model_len: 99999999999999999999
instances:
  - model_name: a
    gpu_devices: [0, x]
server: 5
)");
  EXPECT_NE(find_diagnostic(errors, "gpu.memory_limit_gb", "expected a number, got a list"),
            nullptr)
      << dump(errors);
  EXPECT_NE(
      find_diagnostic(errors, "engine.enable_prefix_caching", "expected true or false, got 'yes'"),
      nullptr)
      << dump(errors);
  EXPECT_NE(find_diagnostic(errors, "engine.gpu_memory_utilization", "finite number"), nullptr)
      << dump(errors);
  EXPECT_NE(find_diagnostic(errors, "engine.max_model_len", "out of range"), nullptr)
      << dump(errors);
  EXPECT_NE(find_diagnostic(errors, "instances[0].gpu_devices", "list of integers"), nullptr)
      << dump(errors);
  EXPECT_NE(find_diagnostic(errors, "server", "expected a mapping, got '5'"), nullptr)
      << dump(errors);
}

TEST(ConfigLoader, StructuralMistakes) {
  std::vector<ConfigDiagnostic> errors =
      load_errors("engine:\n  block_size: 16\n  block_size: 32\n");
  EXPECT_NE(find_diagnostic(errors, "engine.block_size", "duplicate key"), nullptr) << dump(errors);

  errors = load_errors("engine: {}\nvllm: {}\n");
  EXPECT_NE(find_diagnostic(errors, "vllm", "alias of 'engine'"), nullptr) << dump(errors);

  errors = load_errors("engine:\n  block_size: [16\n");
  ASSERT_EQ(errors.size(), 1u) << dump(errors);
  EXPECT_NE(errors[0].message.find("YAML syntax"), std::string::npos);
  EXPECT_EQ(errors[0].location.origin, "test.yaml");
  EXPECT_GT(errors[0].location.line, 0);

  errors = load_errors("- 1\n- 2\n");
  EXPECT_NE(find_diagnostic(errors, "", "expected a mapping of sections or profiles"), nullptr)
      << dump(errors);

  errors = load_errors("instances:\n  - tensor_parallel_size: 1\n    colour: red\n  - 5\n");
  EXPECT_NE(find_diagnostic(errors, "instances[0]", "needs a model_name"), nullptr) << dump(errors);
  EXPECT_NE(find_diagnostic(errors, "instances[0].colour", "unknown key"), nullptr) << dump(errors);
  EXPECT_NE(find_diagnostic(errors, "instances[1]", "expected a mapping"), nullptr) << dump(errors);
}

TEST(ConfigLoader, ProfilesAndExtends) {
  const std::map<std::string, std::string> files{
      {"base.yaml", "server:\n  port: 9000\nengine:\n  block_size: 32\n"},
      {"profiles.yaml", R"(common:
  extends: base.yaml
  engine:
    max_num_seqs: 64
fast:
  extends: common
  engine:
    model_name: mistralai/Mistral-7B-Instruct-v0.2
    max_num_seqs: 16
loop_a:
  extends: loop_b
loop_b:
  extends: loop_a
broken:
  extends: missing.yaml
)"}};
  LoadOptions options = hermetic_options(files);
  options.config_arg = "profiles.yaml:fast";
  const LoadedConfig loaded = load_config(options);
  EXPECT_EQ(loaded.config.engine.max_num_seqs, 16);  // the profile's own value
  EXPECT_EQ(loaded.config.engine.block_size, 32);    // from the base file, two levels up
  EXPECT_EQ(loaded.config.server.port, 9000);
  EXPECT_EQ(loaded.config.source, "profiles.yaml:fast");
  EXPECT_EQ(loaded.sources.at("server.port").to_string(), "base.yaml:2:9");

  auto errors_of = [&](const std::string& arg) {
    LoadOptions o = options;
    o.config_arg = arg;
    try {
      load_config(o);
    } catch (const ConfigError& e) {
      return e.errors();
    }
    return std::vector<ConfigDiagnostic>{};
  };
  std::vector<ConfigDiagnostic> errors = errors_of("profiles.yaml:loop_a");
  EXPECT_NE(find_diagnostic(errors, "extends", "extends cycle"), nullptr) << dump(errors);
  errors = errors_of("profiles.yaml:broken");
  EXPECT_NE(find_diagnostic(errors, "extends", "cannot read 'missing.yaml'"), nullptr)
      << dump(errors);
  errors = errors_of("profiles.yaml:fsat");
  EXPECT_NE(find_diagnostic(errors, "", "did you mean 'fast'?"), nullptr) << dump(errors);
  errors = errors_of("profiles.yaml");
  EXPECT_NE(find_diagnostic(errors, "", "holds profiles (common, fast, loop_a, loop_b, broken)"),
            nullptr)
      << dump(errors);
  errors = errors_of("base.yaml:fast");
  EXPECT_NE(find_diagnostic(errors, "", "plain config"), nullptr) << dump(errors);
  errors = errors_of("nowhere.yaml");
  EXPECT_NE(find_diagnostic(errors, "", "cannot read the file"), nullptr) << dump(errors);
}

TEST(ConfigLoader, OverridesAndEnvironment) {
  LoadOptions options =
      hermetic_options({{"c.yaml", "server:\n  api_key: from-file\nengine:\n  max_num_seqs: 8\n"}},
                       {{kApiKeyEnv, "from-env"}});
  options.config_arg = "c.yaml";
  options.overrides = {"engine.max_num_seqs=64", "vllm.block_size=32", "engine.max_model_len=null",
                       "instances=[{model_name: mistralai/Mistral-7B-Instruct-v0.2}]"};
  const LoadedConfig loaded = load_config(options);
  EXPECT_EQ(loaded.config.engine.max_num_seqs, 64);
  EXPECT_EQ(loaded.config.engine.block_size, 32);
  ASSERT_EQ(loaded.config.instances.size(), 1u);
  EXPECT_EQ(loaded.config.instances[0].engine.max_num_seqs, 64);
  EXPECT_EQ(loaded.config.server.api_key, "from-env");
  EXPECT_EQ(loaded.sources.at("server.api_key").origin, "environment LOCALMOE_API_KEY");
  EXPECT_EQ(loaded.sources.at("engine.max_num_seqs").origin, "--set engine.max_num_seqs=64");
  // The dump never shows the secret.
  const std::string yaml = config_to_yaml(loaded.config, /*redact_secrets=*/true);
  EXPECT_EQ(yaml.find("from-env"), std::string::npos);
  EXPECT_NE(yaml.find("api_key: <redacted>"), std::string::npos);

  options.overrides = {"engine.max_num_seq=64", "nonsense", "engine", "engine.block_size=[",
                       "enigne.x=1"};
  try {
    load_config(options);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    const auto& errors = e.errors();
    EXPECT_NE(find_diagnostic(errors, "engine.max_num_seq", "did you mean 'max_num_seqs'?"),
              nullptr)
        << dump(errors);
    EXPECT_NE(find_diagnostic(errors, "", "expected KEY=VALUE"), nullptr) << dump(errors);
    EXPECT_NE(find_diagnostic(errors, "engine.block_size", "not valid YAML"), nullptr)
        << dump(errors);
    EXPECT_NE(find_diagnostic(errors, "enigne.x", "did you mean 'engine'?"), nullptr)
        << dump(errors);
    EXPECT_EQ(errors.size(), 5u) << dump(errors);
  }
}

TEST(ConfigLoader, DumpReadsBackToTheSameConfig) {
  const LoadedConfig first = load_text(R"(engine:
  model_name: mistralai/Mistral-7B-Instruct-v0.2
  quantization: fp8
  kv_cache_dtype: fp8_e5m2
  gpu_memory_utilization: 0.85
instances:
  - model_name: mistralai/Mistral-7B-Instruct-v0.2
    name: "mistral: fast"
    gpu_devices: [1]
    max_num_seqs: 8
runtime:
  num_threads: 3
  log_level: warn
)");
  const std::string yaml = config_to_yaml(first.config, /*redact_secrets=*/false);
  EXPECT_NE(yaml.find("runtime:\n  num_threads: 3\n  kernels: best\n  log_level: warn\n"),
            std::string::npos)
      << yaml;
  const LoadedConfig second = load_text(yaml);
  EXPECT_EQ(config_to_yaml(second.config, false), yaml);
  EXPECT_EQ(second.config.instances.at(0).name, "mistral: fast");
}

TEST(ConfigLoader, FieldListingCoversEverySection) {
  const std::string fields = describe_config_fields();
  for (const char* key : {"gpu.memory_limit_gb", "model.quantization_type", "engine.max_num_seqs",
                          "instances[].gpu_devices", "server.api_key", "moe.expert_cache_gb",
                          "runtime.num_threads", "runtime.log_level"}) {
    EXPECT_NE(fields.find(key), std::string::npos) << key;
  }
}

}  // namespace
}  // namespace localmoe

namespace localmoe {
namespace {

TEST(ConfigLoader, RarerStructuralMistakes) {
  using testing::dump;
  using testing::find_diagnostic;
  using testing::load_errors;
  std::vector<ConfigDiagnostic> errors = load_errors("engine: {}\nengine: {}\n");
  EXPECT_NE(find_diagnostic(errors, "engine", "duplicate section"), nullptr) << dump(errors);

  errors = load_errors("engine:\n  ? [a, b]\n  : 1\n");
  EXPECT_NE(find_diagnostic(errors, "engine", "a key must be a plain word"), nullptr)
      << dump(errors);

  errors = load_errors("extends: [a]\n");
  EXPECT_NE(find_diagnostic(errors, "extends", "expected a profile name or FILE[:PROFILE]"),
            nullptr)
      << dump(errors);

  errors = load_errors("", testing::hermetic_options(), std::string("p"));
  EXPECT_NE(find_diagnostic(errors, "", "no profile 'p': the file is empty"), nullptr)
      << dump(errors);

  errors = load_errors("p:\n  - 1\n", testing::hermetic_options(), std::string("p"));
  EXPECT_NE(find_diagnostic(errors, "p", "expected a mapping of sections, got a list"), nullptr)
      << dump(errors);

  // A chain of 20 profiles, each extending the next.
  std::string chain;
  for (int i = 0; i < 20; ++i) {
    chain.append("p")
        .append(std::to_string(i))
        .append(":\n  extends: p")
        .append(std::to_string(i + 1))
        .append("\n");
  }
  chain += "p20:\n  engine: {block_size: 32}\n";
  errors = load_errors(chain, testing::hermetic_options(), std::string("p0"));
  EXPECT_NE(find_diagnostic(errors, "extends", "extends chain deeper than 16"), nullptr)
      << dump(errors);
}

}  // namespace
}  // namespace localmoe
