#pragma once
// Element types of weights, activations and the KV cache, and exact scalar
// conversions between them. Every narrowing conversion rounds to nearest,
// ties to even. FP8 follows the OCP 8-bit floating point specification:
//   E4M3 ("fn": no infinities, one NaN per sign, max 448) saturates: finite
//        values and infinities beyond 448 become +-448, as quantizers that
//        clamp before `.to(torch.float8_e4m3fn)` produce;
//   E5M2 is IEEE-like: overflow becomes infinity, as torch.float8_e5m2 does.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace localmoe {

enum class DType : uint8_t {
  kF32,
  kF16,
  kBF16,
  kF8E4M3,
  kF8E5M2,
  kF64,
  kI64,
  kI32,
  kI16,
  kI8,
  kU8,
  kBool,
};

// Bytes per element.
size_t dtype_size(DType dtype);
// The safetensors spelling: "F32", "BF16", "F8_E4M3", ...
std::string_view dtype_name(DType dtype);
std::optional<DType> parse_dtype_name(std::string_view name);
bool is_floating(DType dtype);

// ---- scalar conversions ------------------------------------------------------

inline float bf16_to_f32(uint16_t bits) {
  return std::bit_cast<float>(uint32_t{bits} << 16);
}
uint16_t f32_to_bf16(float value);

float f16_to_f32(uint16_t bits);
uint16_t f32_to_f16(float value);

float fp8_e4m3_to_f32(uint8_t bits);
uint8_t f32_to_fp8_e4m3(float value);

float fp8_e5m2_to_f32(uint8_t bits);
uint8_t f32_to_fp8_e5m2(float value);

// Reads element `index` of a floating-point array of `dtype` as f32.
float load_as_f32(const void* data, DType dtype, size_t index);

}  // namespace localmoe
