#include "localmoe/config/model_catalog.h"

#include <algorithm>
#include <cctype>
#include <fstream>

#include "localmoe/base/error.h"
#include "localmoe/config/hf_config.h"

namespace localmoe {
namespace {

namespace fs = std::filesystem;

// The architecture numbers below are copied from each model's config.json as
// published on the Hugging Face hub (huggingface.co/<id>/blob/main/config.json).

ModelConfig llama2(int64_t hidden, int64_t intermediate, int64_t layers, int64_t heads,
                   int64_t kv_heads) {
  ModelConfig c;
  c.arch = ModelArch::kLlama;
  c.arch_name = "LlamaForCausalLM";
  c.vocab_size = 32000;
  c.hidden_size = hidden;
  c.intermediate_size = intermediate;
  c.num_layers = layers;
  c.num_heads = heads;
  c.num_kv_heads = kv_heads;
  c.head_dim = hidden / heads;
  c.max_position_embeddings = 4096;
  c.norm_eps = 1e-5f;
  c.rope_theta = 10000.0;
  c.torch_dtype = DType::kF16;
  c.bos_token_ids = {1};
  c.eos_token_ids = {2};
  return c;
}

// Mistral-7B-Instruct-v0.2: 32k context, rope_theta 1e6, no sliding window.
ModelConfig mistral_7b_v02() {
  ModelConfig c = llama2(4096, 14336, 32, 32, 8);
  c.arch = ModelArch::kMistral;
  c.arch_name = "MistralForCausalLM";
  c.max_position_embeddings = 32768;
  c.rope_theta = 1e6;
  c.torch_dtype = DType::kBF16;
  return c;
}

ModelConfig mixtral_8x7b() {
  ModelConfig c = mistral_7b_v02();
  c.arch = ModelArch::kMixtral;
  c.arch_name = "MixtralForCausalLM";
  c.num_experts = 8;
  c.num_experts_per_token = 2;
  return c;
}

// CodeLlama-13b-Instruct-hf: Llama-2-13B shape, 16k context, 16 extra infilling tokens.
ModelConfig codellama_13b() {
  ModelConfig c = llama2(5120, 13824, 40, 40, 40);
  c.vocab_size = 32016;
  c.max_position_embeddings = 16384;
  c.rope_theta = 1e6;
  c.torch_dtype = DType::kBF16;
  return c;
}

// microsoft/DialoGPT-medium: GPT-2 medium (n_embd 1024, n_layer 24, n_head 16, n_positions 1024).
ModelConfig dialogpt_medium() {
  ModelConfig c;
  c.arch = ModelArch::kGpt2;
  c.arch_name = "GPT2LMHeadModel";
  c.vocab_size = 50257;
  c.hidden_size = 1024;
  c.intermediate_size = 4096;
  c.num_layers = 24;
  c.num_heads = 16;
  c.num_kv_heads = 16;
  c.head_dim = 64;
  c.max_position_embeddings = 1024;
  c.norm = NormKind::kLayerNorm;
  c.norm_eps = 1e-5f;
  c.activation = ActivationKind::kGeluTanh;
  c.position = PositionKind::kLearned;
  c.tie_word_embeddings = true;
  c.attention_bias = true;
  c.mlp_bias = true;
  c.bos_token_ids = {50256};
  c.eos_token_ids = {50256};
  return c;
}

// AWQ / GPTQ checkpoints as TheBloke published them: 4 bits, groups of 128.
constexpr CheckpointQuantization kAwq4g128{WeightFormat::kAwq, 4, 128};
constexpr CheckpointQuantization kGptq4g128{WeightFormat::kGptq, 4, 128};

struct CatalogEntry {
  ModelSpec spec;
  std::vector<std::string> aliases;  // short names also accepted
};

ModelSpec published(std::string id, ModelConfig arch, CheckpointQuantization checkpoint = {}) {
  return ModelSpec{id, std::move(arch), checkpoint, "catalog: config.json of huggingface.co/" + id};
}

const std::vector<CatalogEntry>& entries() {
  static const std::vector<CatalogEntry> kEntries{
      {published("meta-llama/Llama-2-7b-chat-hf", llama2(4096, 11008, 32, 32, 32)), {"llama-2-7b"}},
      {published("meta-llama/Llama-2-13b-chat-hf", llama2(5120, 13824, 40, 40, 40)),
       {"llama-2-13b"}},
      {published("meta-llama/Llama-2-70b-chat-hf", llama2(8192, 28672, 80, 64, 8)),
       {"llama-2-70b"}},
      {published("mistralai/Mistral-7B-Instruct-v0.2", mistral_7b_v02()), {"mistral-7b"}},
      {published("mistralai/Mixtral-8x7B-Instruct-v0.1", mixtral_8x7b()), {"mixtral-8x7b"}},
      {published("mistralai/Mixtral-8x7B-v0.1", mixtral_8x7b()), {}},
      {published("codellama/CodeLlama-13b-Instruct-hf", codellama_13b()), {"codellama-13b"}},
      {published("microsoft/DialoGPT-medium", dialogpt_medium()), {"dialogpt-medium"}},
      {published("TheBloke/Llama-2-70B-Chat-AWQ", llama2(8192, 28672, 80, 64, 8), kAwq4g128), {}},
      {published("TheBloke/Llama-2-13B-chat-AWQ", llama2(5120, 13824, 40, 40, 40), kAwq4g128), {}},
      {published("TheBloke/Mistral-7B-Instruct-v0.2-AWQ", mistral_7b_v02(), kAwq4g128), {}},
      {published("TheBloke/Mixtral-8x7B-Instruct-v0.1-AWQ", mixtral_8x7b(), kAwq4g128), {}},
      {published("TheBloke/CodeLlama-13B-Instruct-GPTQ", codellama_13b(), kGptq4g128), {}},
  };
  return kEntries;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string last_component(std::string_view id) {
  const size_t slash = id.rfind('/');
  return std::string(slash == std::string_view::npos ? id : id.substr(slash + 1));
}

int64_t json_int(const nlohmann::json& j, const char* key, int64_t fallback,
                 const std::string& source) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_number_integer()) {
    throw make_error(ErrorKind::kInvalidArgument, "quantization_config.", key,
                     ": expected an integer")
        .with_context("file '" + source + "'");
  }
  return j[key].get<int64_t>();
}

}  // namespace

const std::vector<ModelSpec>& model_catalog() {
  static const std::vector<ModelSpec> kSpecs = [] {
    std::vector<ModelSpec> specs;
    for (const CatalogEntry& e : entries()) specs.push_back(e.spec);
    return specs;
  }();
  return kSpecs;
}

std::optional<ModelSpec> find_catalog_model(std::string_view id) {
  const std::string wanted = lower(id);
  for (const CatalogEntry& e : entries()) {
    if (lower(e.spec.id) == wanted || lower(last_component(e.spec.id)) == wanted) return e.spec;
    for (const std::string& alias : e.aliases) {
      if (alias == wanted) return e.spec;
    }
  }
  return std::nullopt;
}

CheckpointQuantization parse_checkpoint_quantization(const nlohmann::json& config_json,
                                                     const std::string& source) {
  CheckpointQuantization q;
  if (!config_json.is_object() || !config_json.contains("quantization_config")) return q;
  const nlohmann::json& qc = config_json["quantization_config"];
  if (qc.is_null()) return q;
  if (!qc.is_object() || !qc.contains("quant_method") || !qc["quant_method"].is_string()) {
    throw make_error(ErrorKind::kInvalidArgument,
                     "quantization_config: expected an object with quant_method")
        .with_context("file '" + source + "'");
  }
  const std::string method = qc["quant_method"].get<std::string>();
  if (method == "awq") {
    q.format = WeightFormat::kAwq;
  } else if (method == "gptq") {
    q.format = WeightFormat::kGptq;
  } else if (method == "fp8") {
    q.format = WeightFormat::kFp8;
    q.bits = 8;
    return q;
  } else {
    throw make_error(ErrorKind::kUnsupported, "quantization_config.quant_method '", method,
                     "' is not supported (awq, gptq, fp8 are)")
        .with_context("file '" + source + "'");
  }
  q.bits = json_int(qc, "bits", json_int(qc, "w_bit", 4, source), source);
  q.group_size = json_int(qc, "group_size", json_int(qc, "q_group_size", 128, source), source);
  if (q.bits != 4 && q.bits != 8) {
    throw make_error(ErrorKind::kUnsupported, "quantization_config.bits ", q.bits,
                     " is not supported (4 or 8)")
        .with_context("file '" + source + "'");
  }
  if (q.group_size == 0 || q.group_size < -1) {
    throw make_error(ErrorKind::kInvalidArgument, "quantization_config.group_size ", q.group_size,
                     " is invalid (a positive size or -1)")
        .with_context("file '" + source + "'");
  }
  return q;
}

std::optional<ModelSpec> resolve_model(const std::string& model_name, const fs::path& models_dir) {
  std::error_code ec;
  for (const fs::path& dir : {fs::path(model_name), models_dir / model_name}) {
    if (!fs::is_regular_file(dir / "config.json", ec)) continue;
    ModelSpec spec;
    spec.id = model_name;
    spec.arch = load_hf_config(dir.string());
    const std::string config_path = (dir / "config.json").string();
    std::ifstream in(config_path);
    nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    spec.checkpoint = parse_checkpoint_quantization(j, config_path);
    spec.source = config_path;
    return spec;
  }
  return find_catalog_model(model_name);
}

}  // namespace localmoe
