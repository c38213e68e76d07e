#include "localmoe/config/hf_config.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>

#include "localmoe/base/error.h"

namespace localmoe {
namespace {

using nlohmann::json;

// Sizes (hidden, heads, vocab, ...) are bounded so that products of two of
// them, which the model computes, cannot overflow int64.
constexpr int64_t kMaxSize = std::numeric_limits<int32_t>::max();

constexpr std::string_view kSupportedArchs =
    "LlamaForCausalLM, MistralForCausalLM, MixtralForCausalLM, GPT2LMHeadModel";

// "string \"4096\"", "number 32.5", "array": a value for an error message.
// Nested values are named by type only, since dump() recurses and a hostile
// file may nest arbitrarily deep; long scalars are cut.
std::string describe(const json& value) {
  if (!value.is_primitive()) return value.type_name();
  constexpr size_t kMaxChars = 80;
  std::string text = value.dump();
  if (text.size() > kMaxChars) text = text.substr(0, kMaxChars) + "...";
  return std::string(value.type_name()) + " " + text;
}

Error key_error(ErrorKind kind, std::string_view key, const std::string& message) {
  return Error(kind, message).with_context("key '" + std::string(key) + "'");
}

// Typed access to the keys of one config object. A key whose value is null
// counts as absent, as transformers writes null for unset optional fields.
class ConfigFields {
 public:
  explicit ConfigFields(const json& object) : object_(object) {}

  const json* get(std::string_view key) const {
    const auto it = object_.find(key);
    if (it == object_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  std::optional<int64_t> optional_int(std::string_view key) const {
    const json* value = get(key);
    if (value == nullptr) return std::nullopt;
    if (value->is_number_unsigned()) {
      if (value->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        throw key_error(ErrorKind::kInvalidArgument, key,
                        "value " + value->dump() + " is too large");
      }
      return value->get<int64_t>();
    }
    if (value->is_number_integer()) return value->get<int64_t>();
    throw wrong_type(key, "an integer", *value);
  }

  // A size in [1, kMaxSize]; nullopt when absent.
  std::optional<int64_t> optional_size(std::string_view key) const {
    const std::optional<int64_t> value = optional_int(key);
    if (value && (*value < 1 || *value > kMaxSize)) {
      throw key_error(
          ErrorKind::kInvalidArgument, key,
          "must be between 1 and " + std::to_string(kMaxSize) + ", got " + std::to_string(*value));
    }
    return value;
  }

  int64_t size(std::string_view key) const {
    const std::optional<int64_t> value = optional_size(key);
    if (!value) throw missing(key);
    return *value;
  }

  // A finite number > 0.
  double positive_number(std::string_view key, double fallback) const {
    const json* value = get(key);
    if (value == nullptr) return fallback;
    if (!value->is_number()) throw wrong_type(key, "a number", *value);
    const double number = value->get<double>();
    if (!std::isfinite(number) || number <= 0) {
      throw key_error(ErrorKind::kInvalidArgument, key,
                      "must be a finite number > 0, got " + value->dump());
    }
    return number;
  }

  bool boolean(std::string_view key, bool fallback) const {
    const json* value = get(key);
    if (value == nullptr) return fallback;
    if (!value->is_boolean()) throw wrong_type(key, "true or false", *value);
    return value->get<bool>();
  }

  std::optional<std::string> string(std::string_view key) const {
    const json* value = get(key);
    if (value == nullptr) return std::nullopt;
    if (!value->is_string()) throw wrong_type(key, "a string", *value);
    return value->get<std::string>();
  }

  // An int, or a list of ints (several end-of-sequence tokens); each >= 0.
  std::optional<std::vector<int64_t>> token_ids(std::string_view key) const {
    const json* value = get(key);
    if (value == nullptr) return std::nullopt;
    std::vector<int64_t> ids;
    if (value->is_array()) {
      for (const json& item : *value) ids.push_back(token_id(key, item));
    } else {
      ids.push_back(token_id(key, *value));
    }
    return ids;
  }

  static Error missing(std::string_view key) {
    return key_error(ErrorKind::kInvalidArgument, key, "required but missing");
  }

 private:
  static Error wrong_type(std::string_view key, std::string_view expected, const json& value) {
    return key_error(ErrorKind::kInvalidArgument, key,
                     "expected " + std::string(expected) + ", got " + describe(value));
  }

  static int64_t token_id(std::string_view key, const json& item) {
    if (!item.is_number_integer()) throw wrong_type(key, "an integer or a list of integers", item);
    const bool in_range =
        item.is_number_unsigned()
            ? item.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
            : item.get<int64_t>() >= 0;
    if (!in_range) {
      throw key_error(ErrorKind::kInvalidArgument, key,
                      "token id " + item.dump() + " is out of range");
    }
    return item.get<int64_t>();
  }

  const json& object_;
};

ModelArch parse_arch(const ConfigFields& fields, std::string& arch_name) {
  const json* archs = fields.get("architectures");
  if (archs != nullptr) {
    if (!archs->is_array() || (!archs->empty() && !(*archs)[0].is_string())) {
      throw key_error(ErrorKind::kInvalidArgument, "architectures",
                      "expected a list of names, got " + describe(*archs));
    }
    if (!archs->empty()) arch_name = (*archs)[0].get<std::string>();
  }
  if (arch_name.empty()) {
    const std::optional<std::string> model_type = fields.string("model_type");
    if (!model_type) {
      throw key_error(ErrorKind::kInvalidArgument, "architectures",
                      "missing, and no 'model_type' either: cannot tell the architecture");
    }
    constexpr std::pair<std::string_view, std::string_view> kModelTypes[] = {
        {"llama", "LlamaForCausalLM"},
        {"mistral", "MistralForCausalLM"},
        {"mixtral", "MixtralForCausalLM"},
        {"gpt2", "GPT2LMHeadModel"},
    };
    arch_name = *model_type;
    for (const auto& [type, name] : kModelTypes) {
      if (*model_type == type) arch_name = name;
    }
  }
  for (ModelArch arch :
       {ModelArch::kLlama, ModelArch::kMistral, ModelArch::kMixtral, ModelArch::kGpt2}) {
    if (model_arch_name(arch) == arch_name) return arch;
  }
  throw make_error(ErrorKind::kUnsupported, "architecture '", arch_name,
                   "' is not supported (supported: ", kSupportedArchs, ")");
}

void parse_rope_scaling(const ConfigFields& fields, ModelConfig& config) {
  const json* scaling = fields.get("rope_scaling");
  if (scaling == nullptr) return;
  if (!scaling->is_object()) {
    throw key_error(ErrorKind::kInvalidArgument, "rope_scaling",
                    "expected null or an object, got " + describe(*scaling));
  }
  try {
    const ConfigFields scaling_fields(*scaling);
    std::optional<std::string> type = scaling_fields.string("rope_type");
    if (!type) type = scaling_fields.string("type");
    if (!type) throw ConfigFields::missing("type");
    if (*type == "default") return;  // transformers' spelling of "no scaling"
    if (*type != "linear") {
      throw make_error(ErrorKind::kUnsupported, "rope scaling type '", *type,
                       "' is not supported: only 'linear' is");
    }
    if (scaling_fields.get("factor") == nullptr) throw ConfigFields::missing("factor");
    config.rope_scaling = RopeScalingKind::kLinear;
    config.rope_scaling_factor = scaling_fields.positive_number("factor", 1.0);
  } catch (Error& e) {
    e.with_context("key 'rope_scaling'");
    throw;
  }
}

std::optional<DType> parse_torch_dtype(const ConfigFields& fields) {
  const std::optional<std::string> name = fields.string("torch_dtype");
  if (!name) return std::nullopt;
  if (*name == "float32") return DType::kF32;
  if (*name == "float16") return DType::kF16;
  if (*name == "bfloat16") return DType::kBF16;
  throw key_error(ErrorKind::kUnsupported, "torch_dtype",
                  "'" + *name + "' is not supported (float32, float16, bfloat16)");
}

void parse_llama_family(const ConfigFields& fields, ModelConfig& config) {
  config.vocab_size = fields.size("vocab_size");
  config.hidden_size = fields.size("hidden_size");
  config.intermediate_size = fields.size("intermediate_size");
  config.num_layers = fields.size("num_hidden_layers");
  config.num_heads = fields.size("num_attention_heads");
  config.num_kv_heads = fields.optional_size("num_key_value_heads").value_or(config.num_heads);
  config.max_position_embeddings = fields.size("max_position_embeddings");
  if (config.num_heads % config.num_kv_heads != 0) {
    throw key_error(ErrorKind::kInvalidArgument, "num_key_value_heads",
                    std::to_string(config.num_kv_heads) + " does not divide num_attention_heads " +
                        std::to_string(config.num_heads));
  }
  if (const std::optional<int64_t> head_dim = fields.optional_size("head_dim")) {
    config.head_dim = *head_dim;
  } else if (config.hidden_size % config.num_heads != 0) {
    throw key_error(ErrorKind::kInvalidArgument, "hidden_size",
                    std::to_string(config.hidden_size) +
                        " is not divisible by num_attention_heads " +
                        std::to_string(config.num_heads) + " and no head_dim is given");
  } else {
    config.head_dim = config.hidden_size / config.num_heads;
  }

  // transformers' defaults per architecture, for configs that omit them.
  const bool mixtral = config.arch == ModelArch::kMixtral;
  config.norm = NormKind::kRmsNorm;
  config.norm_eps =
      static_cast<float>(fields.positive_number("rms_norm_eps", mixtral ? 1e-5 : 1e-6));
  config.position = PositionKind::kRope;
  config.rope_theta = fields.positive_number("rope_theta", mixtral ? 1e6 : 1e4);
  parse_rope_scaling(fields, config);
  config.tie_word_embeddings = fields.boolean("tie_word_embeddings", false);
  config.attention_bias = fields.boolean("attention_bias", false);
  config.mlp_bias = fields.boolean("mlp_bias", false);

  const std::string act = fields.string("hidden_act").value_or("silu");
  if (act != "silu") {
    throw key_error(ErrorKind::kUnsupported, "hidden_act",
                    "'" + act + "' is not supported for " + config.arch_name + ": only 'silu' is");
  }
  config.activation = ActivationKind::kSilu;

  if (config.arch == ModelArch::kMistral || mixtral) {
    config.sliding_window = fields.optional_size("sliding_window");
  }
  if (mixtral) {
    config.num_experts = fields.optional_size("num_local_experts").value_or(8);
    config.num_experts_per_token = fields.optional_size("num_experts_per_tok").value_or(2);
    if (config.num_experts_per_token > config.num_experts) {
      throw key_error(ErrorKind::kInvalidArgument, "num_experts_per_tok",
                      std::to_string(config.num_experts_per_token) + " exceeds num_local_experts " +
                          std::to_string(config.num_experts));
    }
  }
}

void parse_gpt2(const ConfigFields& fields, ModelConfig& config) {
  config.vocab_size = fields.size("vocab_size");
  config.hidden_size = fields.size("n_embd");
  config.num_layers = fields.size("n_layer");
  config.num_heads = fields.size("n_head");
  config.num_kv_heads = config.num_heads;
  config.max_position_embeddings = fields.size("n_positions");
  // 4 * n_embd <= 4 * kMaxSize cannot overflow int64.
  config.intermediate_size = fields.optional_size("n_inner").value_or(4 * config.hidden_size);
  if (config.hidden_size % config.num_heads != 0) {
    throw key_error(ErrorKind::kInvalidArgument, "n_embd",
                    std::to_string(config.hidden_size) + " is not divisible by n_head " +
                        std::to_string(config.num_heads));
  }
  config.head_dim = config.hidden_size / config.num_heads;

  const std::string act = fields.string("activation_function").value_or("gelu_new");
  if (act != "gelu_new") {
    throw key_error(ErrorKind::kUnsupported, "activation_function",
                    "'" + act + "' is not supported for GPT2LMHeadModel: only 'gelu_new' is");
  }
  config.norm = NormKind::kLayerNorm;
  config.norm_eps = static_cast<float>(fields.positive_number("layer_norm_epsilon", 1e-5));
  config.activation = ActivationKind::kGeluTanh;
  config.position = PositionKind::kLearned;
  config.tie_word_embeddings = fields.boolean("tie_word_embeddings", true);
  config.attention_bias = true;
  config.mlp_bias = true;
}

void parse_special_tokens(const ConfigFields& fields, ModelConfig& config) {
  if (auto ids = fields.token_ids("bos_token_id")) config.bos_token_ids = std::move(*ids);
  if (auto ids = fields.token_ids("eos_token_id")) config.eos_token_ids = std::move(*ids);
}

json read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const ErrorKind kind = std::filesystem::exists(path) ? ErrorKind::kIo : ErrorKind::kNotFound;
    throw make_error(kind, "cannot open '", path, "'");
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw make_error(ErrorKind::kInvalidArgument, "not valid JSON: ", e.what())
        .with_context("file '" + path + "'");
  }
}

}  // namespace

ModelConfig parse_hf_config(const json& j, const std::string& source) {
  try {
    if (!j.is_object()) {
      throw make_error(ErrorKind::kInvalidArgument, "expected a JSON object, got ", j.type_name());
    }
    const ConfigFields fields(j);
    ModelConfig config;
    config.arch = parse_arch(fields, config.arch_name);
    if (config.arch == ModelArch::kGpt2) {
      parse_gpt2(fields, config);
    } else {
      parse_llama_family(fields, config);
    }
    config.torch_dtype = parse_torch_dtype(fields);
    parse_special_tokens(fields, config);
    return config;
  } catch (Error& e) {
    e.with_context("file '" + source + "'");
    throw;
  }
}

ModelConfig load_hf_config(const std::string& model_dir) {
  const std::filesystem::path dir(model_dir);
  const std::string config_path = (dir / "config.json").string();
  ModelConfig config = parse_hf_config(read_json_file(config_path), config_path);

  const std::string generation_path = (dir / "generation_config.json").string();
  if (std::filesystem::exists(generation_path)) {
    const json generation = read_json_file(generation_path);
    try {
      if (!generation.is_object()) {
        throw make_error(ErrorKind::kInvalidArgument, "expected a JSON object, got ",
                         generation.type_name());
      }
      parse_special_tokens(ConfigFields(generation), config);
    } catch (Error& e) {
      e.with_context("file '" + generation_path + "'");
      throw;
    }
  }
  return config;
}

}  // namespace localmoe
