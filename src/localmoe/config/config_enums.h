#pragma once
// The enumerated values of the configuration and their YAML spellings. One
// table per enum (EnumNames<E>) serves parsing, printing and "expected one
// of" messages; values we know but refuse carry the reason.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "localmoe/base/logging.h"

namespace localmoe {

// Format of the weights as the deployment declares it (`model.quantization_type`).
enum class WeightFormat { kNone, kFp16, kBf16, kFp8, kInt8, kAwq, kGptq };

// Weight quantization method (`engine.quantization`); "null" is no method.
enum class Quantization { kFp8, kInt8, kAwq, kGptq };

// Element type of the KV cache.
enum class KvCacheDtype { kAuto, kFp16, kBf16, kFp8E4M3, kFp8E5M2 };

// Checkpoint container.
enum class LoadFormat { kAuto, kSafetensors, kGguf };

// How experts are spread over devices.
enum class ExpertPlacement { kRoundRobin, kUsageBalanced };

// A value known to the schema but refused, with the reason shown to the user.
struct RejectedName {
  std::string_view name;
  std::string_view reason;
};

template <typename E>
struct EnumNames;

template <>
struct EnumNames<WeightFormat> {
  static constexpr std::array<std::pair<std::string_view, WeightFormat>, 7> kValues{{
      {"none", WeightFormat::kNone},
      {"fp16", WeightFormat::kFp16},
      {"bf16", WeightFormat::kBf16},
      {"fp8", WeightFormat::kFp8},
      {"int8", WeightFormat::kInt8},
      {"awq", WeightFormat::kAwq},
      {"gptq", WeightFormat::kGptq},
  }};
  static constexpr std::array<RejectedName, 1> kRejected{{
      {"squeezellm",
       "SqueezeLLM was removed from vLLM and has no maintained checkpoints; use awq or gptq"},
  }};
};

template <>
struct EnumNames<Quantization> {
  static constexpr std::array<std::pair<std::string_view, Quantization>, 4> kValues{{
      {"fp8", Quantization::kFp8},
      {"int8", Quantization::kInt8},
      {"awq", Quantization::kAwq},
      {"gptq", Quantization::kGptq},
  }};
  static constexpr std::array<RejectedName, 1> kRejected{{
      {"squeezellm",
       "SqueezeLLM was removed from vLLM and has no maintained checkpoints; use awq or gptq "
       "(4-bit, pre-quantized) or fp8 / int8 (quantized at load)"},
  }};
};

template <>
struct EnumNames<KvCacheDtype> {
  static constexpr std::array<std::pair<std::string_view, KvCacheDtype>, 6> kValues{{
      {"auto", KvCacheDtype::kAuto},
      {"fp16", KvCacheDtype::kFp16},
      {"bf16", KvCacheDtype::kBf16},
      {"fp8_e4m3", KvCacheDtype::kFp8E4M3},
      {"fp8_e5m2", KvCacheDtype::kFp8E5M2},
      {"fp8", KvCacheDtype::kFp8E4M3},  // vLLM's spelling of fp8_e4m3
  }};
  static constexpr std::array<RejectedName, 0> kRejected{};
};

template <>
struct EnumNames<LoadFormat> {
  static constexpr std::array<std::pair<std::string_view, LoadFormat>, 3> kValues{{
      {"auto", LoadFormat::kAuto},
      {"safetensors", LoadFormat::kSafetensors},
      {"gguf", LoadFormat::kGguf},
  }};
  static constexpr std::array<RejectedName, 2> kRejected{{
      {"pt", "PyTorch pickles can execute code when loaded; convert the checkpoint to safetensors"},
      {"bitsandbytes", "bitsandbytes checkpoints are not supported; use awq, gptq, fp8 or int8"},
  }};
};

template <>
struct EnumNames<ExpertPlacement> {
  static constexpr std::array<std::pair<std::string_view, ExpertPlacement>, 2> kValues{{
      {"round_robin", ExpertPlacement::kRoundRobin},
      {"usage_balanced", ExpertPlacement::kUsageBalanced},
  }};
  static constexpr std::array<RejectedName, 0> kRejected{};
};

// `runtime.log_level`: LogLevel of base/logging.h.
template <>
struct EnumNames<LogLevel> {
  static constexpr std::array<std::pair<std::string_view, LogLevel>, 6> kValues{{
      {"trace", LogLevel::kTrace},
      {"debug", LogLevel::kDebug},
      {"info", LogLevel::kInfo},
      {"warn", LogLevel::kWarn},
      {"error", LogLevel::kError},
      {"off", LogLevel::kOff},
  }};
  static constexpr std::array<RejectedName, 0> kRejected{};
};

template <typename E>
concept ConfigEnum = requires {
  EnumNames<E>::kValues;
};

// The canonical (first listed) spelling of a value.
template <ConfigEnum E>
std::string_view enum_name(E value) {
  for (const auto& [name, v] : EnumNames<E>::kValues) {
    if (v == value) return name;
  }
  return "?";
}

template <ConfigEnum E>
std::optional<E> parse_enum(std::string_view text) {
  for (const auto& [name, v] : EnumNames<E>::kValues) {
    if (name == text) return v;
  }
  return std::nullopt;
}

template <ConfigEnum E>
std::optional<std::string_view> enum_rejection(std::string_view text) {
  for (const RejectedName& r : EnumNames<E>::kRejected) {
    if (r.name == text) return r.reason;
  }
  return std::nullopt;
}

// "a|b|c" for messages.
template <ConfigEnum E>
std::string enum_choices() {
  std::string out;
  for (const auto& [name, v] : EnumNames<E>::kValues) {
    if (!out.empty()) out += '|';
    out += name;
  }
  return out;
}

// The weight format a quantization method produces; nullopt method = the checkpoint's.
WeightFormat weight_format_of(Quantization quantization);
// Bytes per KV element; kAuto is the 16-bit activation type.
int64_t kv_cache_dtype_size(KvCacheDtype dtype);

}  // namespace localmoe
