#include "localmoe/base/dtype.h"

#include <cmath>

#include "localmoe/base/error.h"

namespace localmoe {
namespace {

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  size_t size;
  bool floating;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::kF32, "F32", 4, true},        {DType::kF16, "F16", 2, true},
    {DType::kBF16, "BF16", 2, true},      {DType::kF8E4M3, "F8_E4M3", 1, true},
    {DType::kF8E5M2, "F8_E5M2", 1, true}, {DType::kF64, "F64", 8, true},
    {DType::kI64, "I64", 8, false},       {DType::kI32, "I32", 4, false},
    {DType::kI16, "I16", 2, false},       {DType::kI8, "I8", 1, false},
    {DType::kU8, "U8", 1, false},         {DType::kBool, "BOOL", 1, false},
};

const DTypeInfo& info(DType dtype) {
  for (const DTypeInfo& entry : kDTypes) {
    if (entry.dtype == dtype) return entry;
  }
  LM_CHECK(false && "DType missing from kDTypes");
  return kDTypes[0];
}

// A binary floating-point format narrower than f32: sign, `exp_bits`
// exponent bits with bias 2^(exp_bits-1)-1, `man_bits` mantissa bits.
struct SmallFloat {
  int exp_bits;
  int man_bits;
  uint32_t max_finite;  // magnitude code of the largest finite value
  bool saturate;        // overflow -> max_finite (else -> infinity)
  uint32_t inf_code;    // magnitude code of infinity (unused when saturating)
  uint32_t nan_code;    // magnitude code of the canonical quiet NaN

  int bias() const { return (1 << (exp_bits - 1)) - 1; }
};

constexpr SmallFloat kF16Format{5, 10, 0x7BFF, false, 0x7C00, 0x7E00};
constexpr SmallFloat kBF16Format{8, 7, 0x7F7F, false, 0x7F80, 0x7FC0};
constexpr SmallFloat kE4M3Format{4, 3, 0x7E, true, 0, 0x7F};
constexpr SmallFloat kE5M2Format{5, 2, 0x7B, false, 0x7C, 0x7E};

// Rounds an f32 to the nearest value of `format` (ties to even) and returns
// its bit pattern.
uint32_t encode(float value, const SmallFloat& format) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const uint32_t sign = (bits >> 31) << (format.exp_bits + format.man_bits);
  const uint32_t magnitude = bits & 0x7FFFFFFFu;
  if (magnitude > 0x7F800000u) return sign | format.nan_code;

  const int f32_exponent = static_cast<int>(magnitude >> 23);
  const int target_exponent = f32_exponent - 127 + format.bias();
  uint32_t code;
  if (target_exponent >= 1) {
    // Normal in the target: round the f32 mantissa at the target's precision
    // with integer arithmetic; a carry into the exponent is the right result.
    const int shift = 23 - format.man_bits;
    const uint32_t half_minus_one = (1u << (shift - 1)) - 1;
    const uint64_t rounded = uint64_t{magnitude} + half_minus_one + ((magnitude >> shift) & 1u);
    const uint64_t rebias = uint64_t(127 - format.bias()) << format.man_bits;
    code = static_cast<uint32_t>((rounded >> shift) - rebias);
  } else {
    // Subnormal (or zero) in the target: count units of the smallest
    // subnormal, 2^(1 - bias - man_bits). Scaling by a power of two in double
    // is exact, and nearbyint rounds ties to even.
    const double units = std::ldexp(static_cast<double>(std::bit_cast<float>(magnitude)),
                                    format.bias() + format.man_bits - 1);
    code = static_cast<uint32_t>(std::nearbyint(units));
  }
  if (code > format.max_finite) code = format.saturate ? format.max_finite : format.inf_code;
  return sign | code;
}

float decode(uint32_t bits, const SmallFloat& format) {
  const int total = format.exp_bits + format.man_bits;
  const bool negative = (bits >> total) & 1u;
  const uint32_t magnitude = bits & ((1u << total) - 1u);
  const uint32_t exponent = magnitude >> format.man_bits;
  const uint32_t mantissa = magnitude & ((1u << format.man_bits) - 1u);
  float result;
  if (magnitude > format.max_finite) {
    const bool is_inf = !format.saturate && magnitude == format.inf_code;
    result = is_inf ? INFINITY : NAN;
  } else if (exponent == 0) {
    result = std::ldexp(static_cast<float>(mantissa), 1 - format.bias() - format.man_bits);
  } else {
    const uint32_t significand = (1u << format.man_bits) | mantissa;
    result = std::ldexp(static_cast<float>(significand),
                        static_cast<int>(exponent) - format.bias() - format.man_bits);
  }
  return negative ? -result : result;
}

}  // namespace

size_t dtype_size(DType dtype) {
  return info(dtype).size;
}
std::string_view dtype_name(DType dtype) {
  return info(dtype).name;
}
bool is_floating(DType dtype) {
  return info(dtype).floating;
}

std::optional<DType> parse_dtype_name(std::string_view name) {
  for (const DTypeInfo& entry : kDTypes) {
    if (entry.name == name) return entry.dtype;
  }
  return std::nullopt;
}

uint16_t f32_to_bf16(float value) {
  return static_cast<uint16_t>(encode(value, kBF16Format));
}
float f16_to_f32(uint16_t bits) {
  return decode(bits, kF16Format);
}
uint16_t f32_to_f16(float value) {
  return static_cast<uint16_t>(encode(value, kF16Format));
}
float fp8_e4m3_to_f32(uint8_t bits) {
  return decode(bits, kE4M3Format);
}
uint8_t f32_to_fp8_e4m3(float value) {
  return static_cast<uint8_t>(encode(value, kE4M3Format));
}
float fp8_e5m2_to_f32(uint8_t bits) {
  return decode(bits, kE5M2Format);
}
uint8_t f32_to_fp8_e5m2(float value) {
  return static_cast<uint8_t>(encode(value, kE5M2Format));
}

float load_as_f32(const void* data, DType dtype, size_t index) {
  switch (dtype) {
    case DType::kF32: return static_cast<const float*>(data)[index];
    case DType::kF64: return static_cast<float>(static_cast<const double*>(data)[index]);
    case DType::kF16: return f16_to_f32(static_cast<const uint16_t*>(data)[index]);
    case DType::kBF16: return bf16_to_f32(static_cast<const uint16_t*>(data)[index]);
    case DType::kF8E4M3: return fp8_e4m3_to_f32(static_cast<const uint8_t*>(data)[index]);
    case DType::kF8E5M2: return fp8_e5m2_to_f32(static_cast<const uint8_t*>(data)[index]);
    default: LM_CHECK(false && "load_as_f32 on a non-floating dtype");
  }
  return 0.0f;
}

}  // namespace localmoe
