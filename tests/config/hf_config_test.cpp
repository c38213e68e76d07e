#include "localmoe/config/hf_config.h"

#include <gtest/gtest.h>

#include "loader/expect_error.h"
#include "loader/safetensors_writer.h"

namespace localmoe {
namespace {

using nlohmann::json;
using testing::expect_error;
using testing::TempDir;
using testing::write_text_file;

constexpr const char* kSource = "models/x/config.json";

// Abridged from meta-llama/Llama-2-7b-hf.
json llama2_7b() {
  return json::parse(R"({
    "architectures": ["LlamaForCausalLM"], "model_type": "llama",
    "vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 11008,
    "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32,
    "max_position_embeddings": 4096, "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
    "rope_scaling": null, "tie_word_embeddings": false, "attention_bias": false,
    "hidden_act": "silu", "torch_dtype": "float16", "bos_token_id": 1, "eos_token_id": 2})");
}

// Abridged from mistralai/Mixtral-8x7B-v0.1.
json mixtral_8x7b() {
  return json::parse(R"({
    "architectures": ["MixtralForCausalLM"], "vocab_size": 32000, "hidden_size": 4096,
    "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
    "num_key_value_heads": 8, "max_position_embeddings": 32768, "rms_norm_eps": 1e-05,
    "rope_theta": 1000000.0, "sliding_window": null, "num_local_experts": 8,
    "num_experts_per_tok": 2, "hidden_act": "silu", "torch_dtype": "bfloat16",
    "bos_token_id": 1, "eos_token_id": 2})");
}

// Abridged from microsoft/DialoGPT-medium.
json dialogpt_medium() {
  return json::parse(R"({
    "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": 50257,
    "n_embd": 1024, "n_layer": 24, "n_head": 16, "n_positions": 1024, "n_ctx": 1024,
    "n_inner": null, "layer_norm_epsilon": 1e-05, "activation_function": "gelu_new",
    "bos_token_id": 50256, "eos_token_id": 50256})");
}

// parse_hf_config on `config` must throw `kind` naming the source and every part.
void expect_config_error(const json& config, ErrorKind kind,
                         std::initializer_list<std::string_view> parts) {
  const std::string text = expect_error([&] { parse_hf_config(config, kSource); }, kind, parts);
  EXPECT_NE(text.find(std::string("file '") + kSource + "'"), std::string::npos) << text;
}

TEST(HfConfigTest, Llama2) {
  const ModelConfig c = parse_hf_config(llama2_7b(), kSource);
  EXPECT_EQ(c.arch, ModelArch::kLlama);
  EXPECT_EQ(c.arch_name, "LlamaForCausalLM");
  EXPECT_EQ(c.vocab_size, 32000);
  EXPECT_EQ(c.hidden_size, 4096);
  EXPECT_EQ(c.intermediate_size, 11008);
  EXPECT_EQ(c.num_layers, 32);
  EXPECT_EQ(c.num_heads, 32);
  EXPECT_EQ(c.num_kv_heads, 32);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.max_position_embeddings, 4096);
  EXPECT_EQ(c.norm, NormKind::kRmsNorm);
  EXPECT_FLOAT_EQ(c.norm_eps, 1e-5f);
  EXPECT_EQ(c.activation, ActivationKind::kSilu);
  EXPECT_EQ(c.position, PositionKind::kRope);
  EXPECT_EQ(c.rope_theta, 10000.0);
  EXPECT_EQ(c.rope_scaling, RopeScalingKind::kNone);
  EXPECT_FALSE(c.sliding_window.has_value());
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_FALSE(c.mlp_bias);
  EXPECT_FALSE(c.is_moe());
  EXPECT_EQ(c.torch_dtype, DType::kF16);
  EXPECT_EQ(c.bos_token_ids, std::vector<int64_t>{1});
  EXPECT_EQ(c.eos_token_ids, std::vector<int64_t>{2});
}

TEST(HfConfigTest, LlamaDefaults) {
  const json minimal = json::parse(R"({
    "architectures": ["LlamaForCausalLM"], "vocab_size": 100, "hidden_size": 64,
    "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
    "max_position_embeddings": 256})");
  const ModelConfig c = parse_hf_config(minimal, kSource);
  EXPECT_EQ(c.num_kv_heads, 4);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.rope_theta, 10000.0);
  EXPECT_FLOAT_EQ(c.norm_eps, 1e-6f);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FALSE(c.torch_dtype.has_value());
  EXPECT_TRUE(c.bos_token_ids.empty());
  EXPECT_TRUE(c.eos_token_ids.empty());
}

TEST(HfConfigTest, LlamaVariants) {
  json j = llama2_7b();
  j["num_key_value_heads"] = 8;
  j["head_dim"] = 64;
  j["tie_word_embeddings"] = true;
  j["attention_bias"] = true;
  j["mlp_bias"] = true;
  j["torch_dtype"] = "bfloat16";
  j["eos_token_id"] = json::array({128001, 128009});
  j["bos_token_id"] = nullptr;
  const ModelConfig c = parse_hf_config(j, kSource);
  EXPECT_EQ(c.num_kv_heads, 8);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.q_dim(), 32 * 64);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_TRUE(c.attention_bias);
  EXPECT_TRUE(c.mlp_bias);
  EXPECT_EQ(c.torch_dtype, DType::kBF16);
  EXPECT_TRUE(c.bos_token_ids.empty());
  EXPECT_EQ(c.eos_token_ids, (std::vector<int64_t>{128001, 128009}));

  j["torch_dtype"] = "float32";
  EXPECT_EQ(parse_hf_config(j, kSource).torch_dtype, DType::kF32);
}

TEST(HfConfigTest, ModelTypeWhenArchitecturesAbsent) {
  json j = llama2_7b();
  j.erase("architectures");
  EXPECT_EQ(parse_hf_config(j, kSource).arch, ModelArch::kLlama);
  j["architectures"] = json::array();
  j["model_type"] = "mistral";
  EXPECT_EQ(parse_hf_config(j, kSource).arch_name, "MistralForCausalLM");
}

TEST(HfConfigTest, MistralSlidingWindow) {
  json j = llama2_7b();
  j["architectures"] = {"MistralForCausalLM"};
  j["sliding_window"] = 4096;
  ModelConfig c = parse_hf_config(j, kSource);
  EXPECT_EQ(c.arch, ModelArch::kMistral);
  EXPECT_EQ(c.sliding_window, 4096);
  j["sliding_window"] = nullptr;
  EXPECT_FALSE(parse_hf_config(j, kSource).sliding_window.has_value());
  j.erase("sliding_window");
  EXPECT_FALSE(parse_hf_config(j, kSource).sliding_window.has_value());
  j["sliding_window"] = "4096";
  expect_config_error(j, ErrorKind::kInvalidArgument,
                      {"key 'sliding_window'", "expected an integer, got string \"4096\""});
}

TEST(HfConfigTest, Mixtral) {
  ModelConfig c = parse_hf_config(mixtral_8x7b(), kSource);
  EXPECT_EQ(c.arch, ModelArch::kMixtral);
  EXPECT_TRUE(c.is_moe());
  EXPECT_EQ(c.num_experts, 8);
  EXPECT_EQ(c.num_experts_per_token, 2);
  EXPECT_EQ(c.num_kv_heads, 8);
  EXPECT_EQ(c.kv_dim(), 8 * 128);
  EXPECT_EQ(c.intermediate_size, 14336);
  EXPECT_EQ(c.rope_theta, 1e6);
  EXPECT_FALSE(c.sliding_window.has_value());
  EXPECT_EQ(c.torch_dtype, DType::kBF16);

  json j = mixtral_8x7b();
  j["sliding_window"] = 4096;
  j.erase("rope_theta");
  j.erase("num_local_experts");
  j.erase("num_experts_per_tok");
  j.erase("rms_norm_eps");
  c = parse_hf_config(j, kSource);
  EXPECT_EQ(c.sliding_window, 4096);
  EXPECT_EQ(c.rope_theta, 1e6);  // transformers' MixtralConfig defaults
  EXPECT_EQ(c.num_experts, 8);
  EXPECT_EQ(c.num_experts_per_token, 2);
  EXPECT_FLOAT_EQ(c.norm_eps, 1e-5f);

  j["num_experts_per_tok"] = 9;
  expect_config_error(j, ErrorKind::kInvalidArgument,
                      {"key 'num_experts_per_tok'", "9 exceeds num_local_experts 8"});
  j["num_experts_per_tok"] = 0;
  expect_config_error(j, ErrorKind::kInvalidArgument,
                      {"key 'num_experts_per_tok'", "must be between 1 and 2147483647, got 0"});
}

TEST(HfConfigTest, Gpt2) {
  ModelConfig c = parse_hf_config(dialogpt_medium(), kSource);
  EXPECT_EQ(c.arch, ModelArch::kGpt2);
  EXPECT_EQ(c.vocab_size, 50257);
  EXPECT_EQ(c.hidden_size, 1024);
  EXPECT_EQ(c.num_layers, 24);
  EXPECT_EQ(c.num_heads, 16);
  EXPECT_EQ(c.num_kv_heads, 16);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.max_position_embeddings, 1024);
  EXPECT_EQ(c.intermediate_size, 4096);
  EXPECT_EQ(c.norm, NormKind::kLayerNorm);
  EXPECT_FLOAT_EQ(c.norm_eps, 1e-5f);
  EXPECT_EQ(c.activation, ActivationKind::kGeluTanh);
  EXPECT_EQ(c.position, PositionKind::kLearned);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_TRUE(c.attention_bias);
  EXPECT_TRUE(c.mlp_bias);
  EXPECT_EQ(c.eos_token_ids, std::vector<int64_t>{50256});

  json j = dialogpt_medium();
  j["n_inner"] = 3000;
  j["tie_word_embeddings"] = false;
  j.erase("activation_function");
  j.erase("layer_norm_epsilon");
  c = parse_hf_config(j, kSource);
  EXPECT_EQ(c.intermediate_size, 3000);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.activation, ActivationKind::kGeluTanh);
  EXPECT_FLOAT_EQ(c.norm_eps, 1e-5f);

  j["activation_function"] = "relu";
  expect_config_error(j, ErrorKind::kUnsupported,
                      {"key 'activation_function'", "'relu' is not supported", "only 'gelu_new'"});
  j = dialogpt_medium();
  j["n_head"] = 15;
  expect_config_error(j, ErrorKind::kInvalidArgument,
                      {"key 'n_embd'", "1024 is not divisible by n_head 15"});
  j = dialogpt_medium();
  j.erase("n_positions");
  expect_config_error(j, ErrorKind::kInvalidArgument,
                      {"key 'n_positions'", "required but missing"});
}

TEST(HfConfigTest, RopeScalingLinear) {
  json j = llama2_7b();
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 4.0}};
  ModelConfig c = parse_hf_config(j, kSource);
  EXPECT_EQ(c.rope_scaling, RopeScalingKind::kLinear);
  EXPECT_EQ(c.rope_scaling_factor, 4.0);
  j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 2}};
  c = parse_hf_config(j, kSource);
  EXPECT_EQ(c.rope_scaling, RopeScalingKind::kLinear);
  EXPECT_EQ(c.rope_scaling_factor, 2.0);
  j["rope_scaling"] = {{"rope_type", "default"}};
  EXPECT_EQ(parse_hf_config(j, kSource).rope_scaling, RopeScalingKind::kNone);
}

TEST(HfConfigTest, RopeScalingOthersRejected) {
  for (const char* type : {"dynamic", "yarn", "llama3", "longrope"}) {
    json j = llama2_7b();
    j["rope_scaling"] = {{"rope_type", type}, {"factor", 8.0}};
    expect_config_error(j, ErrorKind::kUnsupported,
                        {"key 'rope_scaling'", std::string("rope scaling type '") + type + "'",
                         "only 'linear' is"});
  }
  json j = llama2_7b();
  j["rope_scaling"] = {{"type", "linear"}};
  expect_config_error(j, ErrorKind::kInvalidArgument,
                      {"key 'rope_scaling': key 'factor': required but missing"});
  j["rope_scaling"] = {{"type", "linear"}, {"factor", -1}};
  expect_config_error(j, ErrorKind::kInvalidArgument,
                      {"key 'factor'", "must be a finite number > 0, got -1"});
  j["rope_scaling"] = {{"factor", 2.0}};
  expect_config_error(j, ErrorKind::kInvalidArgument,
                      {"key 'rope_scaling': key 'type': required but missing"});
  j["rope_scaling"] = "linear";
  expect_config_error(j, ErrorKind::kInvalidArgument,
                      {"key 'rope_scaling'", "expected null or an object"});
}

TEST(HfConfigTest, UnknownArchitectureListsSupported) {
  json j = llama2_7b();
  j["architectures"] = {"BertForMaskedLM"};
  expect_config_error(
      j, ErrorKind::kUnsupported,
      {"architecture 'BertForMaskedLM' is not supported",
       "LlamaForCausalLM, MistralForCausalLM, MixtralForCausalLM, GPT2LMHeadModel"});
  j.erase("architectures");
  j["model_type"] = "bert";
  expect_config_error(j, ErrorKind::kUnsupported, {"architecture 'bert' is not supported"});
  j.erase("model_type");
  expect_config_error(j, ErrorKind::kInvalidArgument,
                      {"key 'architectures'", "no 'model_type' either"});
  j["architectures"] = "LlamaForCausalLM";
  expect_config_error(j, ErrorKind::kInvalidArgument,
                      {"key 'architectures'", "expected a list of names"});
}

TEST(HfConfigTest, MissingAndMistypedKeys) {
  for (const char* key : {"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                          "num_attention_heads", "max_position_embeddings"}) {
    json j = llama2_7b();
    j.erase(key);
    expect_config_error(j, ErrorKind::kInvalidArgument,
                        {std::string("key '") + key + "': required but missing"});
  }
  json j = llama2_7b();
  j["hidden_size"] = "4096";
  expect_config_error(j, ErrorKind::kInvalidArgument,
                      {"key 'hidden_size'", "expected an integer, got string \"4096\""});
  j = llama2_7b();
  j["num_hidden_layers"] = 32.5;
  expect_config_error(j, ErrorKind::kInvalidArgument,
                      {"key 'num_hidden_layers'", "expected an integer, got number 32.5"});
  j = llama2_7b();
  j["tie_word_embeddings"] = 1;
  expect_config_error(j, ErrorKind::kInvalidArgument,
                      {"key 'tie_word_embeddings'", "expected true or false"});
  j = llama2_7b();
  j["rms_norm_eps"] = "1e-5";
  expect_config_error(j, ErrorKind::kInvalidArgument, {"key 'rms_norm_eps'", "expected a number"});
  j = llama2_7b();
  j["hidden_act"] = 3;
  expect_config_error(j, ErrorKind::kInvalidArgument, {"key 'hidden_act'", "expected a string"});
  j = llama2_7b();
  j["eos_token_id"] = "</s>";
  expect_config_error(j, ErrorKind::kInvalidArgument,
                      {"key 'eos_token_id'", "expected an integer or a list of integers"});
  j["eos_token_id"] = json::array({2, -1});
  expect_config_error(j, ErrorKind::kInvalidArgument,
                      {"key 'eos_token_id'", "token id -1 is out of range"});
  expect_config_error(json::array(), ErrorKind::kInvalidArgument,
                      {"expected a JSON object, got array"});
}

TEST(HfConfigTest, DeeplyNestedValuesDoNotExhaustTheStack) {
  // Copying a json value recurses too, so the nested value is parsed in place.
  const int depth = 1000000;
  const std::string nested = std::string(depth, '[') + std::string(depth, ']');
  for (const char* key : {"vocab_size", "architectures", "rope_scaling", "eos_token_id"}) {
    json base = llama2_7b();
    base.erase(key);
    std::string text = base.dump();
    text.pop_back();
    const json j = json::parse(text + ", \"" + key + "\": " + nested + "}");
    expect_config_error(j, ErrorKind::kInvalidArgument,
                        {std::string("key '") + key + "'", "got array"});
  }
  json j = llama2_7b();
  j["rms_norm_eps"] = std::string(1000, 'x');
  const std::string text = expect_error([&] { parse_hf_config(j, kSource); },
                                        ErrorKind::kInvalidArgument, {"key 'rms_norm_eps'", "..."});
  EXPECT_LT(text.size(), 200u) << "long values are cut in messages";
}

TEST(HfConfigTest, SanityChecks) {
  const std::pair<std::pair<const char*, json>, const char*> cases[] = {
      {{"hidden_size", 0}, "key 'hidden_size': must be between 1 and 2147483647, got 0"},
      {{"vocab_size", -5}, "key 'vocab_size': must be between 1 and 2147483647, got -5"},
      {{"num_hidden_layers", 1ll << 40}, "key 'num_hidden_layers': must be between 1 and"},
      {{"intermediate_size", 18446744073709551615ull},
       "key 'intermediate_size': value 18446744073709551615 is too large"},
      {{"num_key_value_heads", 5},
       "key 'num_key_value_heads': 5 does not divide num_attention_heads 32"},
      {{"num_attention_heads", 96},
       "key 'hidden_size': 4096 is not divisible by num_attention_heads 96 and no head_dim is "
       "given"},
      {{"rms_norm_eps", 0.0}, "key 'rms_norm_eps': must be a finite number > 0, got 0.0"},
      {{"rope_theta", -1.0}, "key 'rope_theta': must be a finite number > 0"},
      {{"head_dim", 0}, "key 'head_dim': must be between 1 and"},
  };
  for (const auto& [change, message] : cases) {
    json j = llama2_7b();
    j[change.first] = change.second;
    SCOPED_TRACE(j.dump());
    expect_config_error(j, ErrorKind::kInvalidArgument, {message});
  }
  json j = llama2_7b();
  j["num_attention_heads"] = 24;
  j["num_key_value_heads"] = 8;
  j["head_dim"] = 128;  // an explicit head_dim lifts the divisibility of hidden_size
  EXPECT_EQ(parse_hf_config(j, kSource).q_dim(), 24 * 128);
}

TEST(HfConfigTest, UnsupportedFeatures) {
  json j = llama2_7b();
  j["hidden_act"] = "gelu";
  expect_config_error(
      j, ErrorKind::kUnsupported,
      {"key 'hidden_act'", "'gelu' is not supported for LlamaForCausalLM: only 'silu' is"});
  j = llama2_7b();
  j["torch_dtype"] = "float64";
  expect_config_error(
      j, ErrorKind::kUnsupported,
      {"key 'torch_dtype'", "'float64' is not supported (float32, float16, bfloat16)"});
}

TEST(HfConfigTest, LoadReadsConfigAndGenerationConfig) {
  TempDir dir;
  write_text_file(dir.path() / "config.json", llama2_7b().dump());
  ModelConfig c = load_hf_config(dir.path().string());
  EXPECT_EQ(c.hidden_size, 4096);
  EXPECT_EQ(c.eos_token_ids, std::vector<int64_t>{2});

  write_text_file(dir.path() / "generation_config.json",
                  R"({"eos_token_id": [2, 32000], "temperature": 0.6})");
  c = load_hf_config(dir.path().string());
  EXPECT_EQ(c.bos_token_ids, std::vector<int64_t>{1});  // absent there: config.json's stays
  EXPECT_EQ(c.eos_token_ids, (std::vector<int64_t>{2, 32000}));

  write_text_file(dir.path() / "generation_config.json", R"({"bos_token_id": "x"})");
  expect_error([&] { load_hf_config(dir.path().string()); }, ErrorKind::kInvalidArgument,
               {(dir.path() / "generation_config.json").string(), "key 'bos_token_id'"});
  write_text_file(dir.path() / "generation_config.json", "[]");
  expect_error([&] { load_hf_config(dir.path().string()); }, ErrorKind::kInvalidArgument,
               {(dir.path() / "generation_config.json").string(), "expected a JSON object"});
}

TEST(HfConfigTest, LoadErrorsNameTheFile) {
  TempDir dir;
  const std::string path = (dir.path() / "config.json").string();
  expect_error([&] { load_hf_config(dir.path().string()); }, ErrorKind::kNotFound,
               {"cannot open '" + path + "'"});
  write_text_file(path, "{\"architectures\": [");
  expect_error([&] { load_hf_config(dir.path().string()); }, ErrorKind::kInvalidArgument,
               {"file '" + path + "'", "not valid JSON"});
  write_text_file(path, R"({"architectures": ["LlamaForCausalLM"]})");
  expect_error([&] { load_hf_config(dir.path().string()); }, ErrorKind::kInvalidArgument,
               {"file '" + path + "'", "key 'vocab_size': required but missing"});
}

}  // namespace
}  // namespace localmoe
