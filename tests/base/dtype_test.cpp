// Every code point of every narrow float format: decoding against the
// format's definition, exact round trips, ties to even at every midpoint,
// and the overflow rules (E4M3 saturates, F16/BF16/E5M2 go to infinity).

#include "localmoe/base/dtype.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <functional>
#include <vector>

namespace localmoe {
namespace {

struct Format {
  const char* name;
  int exp_bits;
  int man_bits;
  bool has_inf;  // else: E4M3fn, whose only special value is NaN (S.1111.111)
  std::function<float(uint32_t)> decode;
  std::function<uint32_t(float)> encode;
};

// The value of a code, straight from the definition of a binary float.
double definition(uint32_t code, const Format& f) {
  const int total = f.exp_bits + f.man_bits;
  const int bias = (1 << (f.exp_bits - 1)) - 1;
  const uint32_t exponent = (code >> f.man_bits) & ((1u << f.exp_bits) - 1);
  const uint32_t mantissa = code & ((1u << f.man_bits) - 1);
  const double sign = (code >> total) & 1 ? -1.0 : 1.0;
  const uint32_t max_exponent = (1u << f.exp_bits) - 1;
  if (f.has_inf && exponent == max_exponent) return mantissa ? NAN : sign * INFINITY;
  if (!f.has_inf && exponent == max_exponent && mantissa == (1u << f.man_bits) - 1) return NAN;
  if (exponent == 0) return sign * std::ldexp(double(mantissa), 1 - bias - f.man_bits);
  return sign *
         std::ldexp(double((1u << f.man_bits) | mantissa), int(exponent) - bias - f.man_bits);
}

std::vector<Format> formats() {
  return {
      {"F16", 5, 10, true, [](uint32_t c) { return f16_to_f32(uint16_t(c)); },
       [](float v) { return uint32_t{f32_to_f16(v)}; }},
      {"BF16", 8, 7, true, [](uint32_t c) { return bf16_to_f32(uint16_t(c)); },
       [](float v) { return uint32_t{f32_to_bf16(v)}; }},
      {"F8_E4M3", 4, 3, false, [](uint32_t c) { return fp8_e4m3_to_f32(uint8_t(c)); },
       [](float v) { return uint32_t{f32_to_fp8_e4m3(v)}; }},
      {"F8_E5M2", 5, 2, true, [](uint32_t c) { return fp8_e5m2_to_f32(uint8_t(c)); },
       [](float v) { return uint32_t{f32_to_fp8_e5m2(v)}; }},
  };
}

TEST(DType, EveryCodePointDecodesToItsDefinitionAndRoundTrips) {
  for (const Format& f : formats()) {
    const uint32_t count = 1u << (1 + f.exp_bits + f.man_bits);
    for (uint32_t code = 0; code < count; ++code) {
      const double expected = definition(code, f);
      const float decoded = f.decode(code);
      if (std::isnan(expected)) {
        ASSERT_TRUE(std::isnan(decoded)) << f.name << " code " << code;
        ASSERT_TRUE(std::isnan(f.decode(f.encode(decoded)))) << f.name << " code " << code;
        continue;
      }
      ASSERT_EQ(double(decoded), expected) << f.name << " code " << code;
      ASSERT_EQ(f.encode(decoded), code) << f.name << " code " << code;
    }
  }
}

// Between each pair of adjacent finite non-negative values: the midpoint
// goes to the even code, anything nearer goes to the nearer value.
TEST(DType, EveryMidpointRoundsToNearestEven) {
  for (const Format& f : formats()) {
    const uint32_t sign_bit = 1u << (f.exp_bits + f.man_bits);
    for (uint32_t code = 0; code + 1 < sign_bit; ++code) {
      const double lo = definition(code, f), hi = definition(code + 1, f);
      if (!std::isfinite(lo) || !std::isfinite(hi)) break;
      const double mid = (lo + hi) / 2;  // exact in double, and in f32 for these formats
      ASSERT_EQ(double(float(mid)), mid);
      const uint32_t even = (code % 2 == 0) ? code : code + 1;
      ASSERT_EQ(f.encode(float(mid)), even) << f.name << " between " << code << " and " << code + 1;
      ASSERT_EQ(f.encode(-float(mid)), even | sign_bit) << f.name << " negative midpoint " << code;
      const float below = std::nextafter(float(mid), -INFINITY);
      const float above = std::nextafter(float(mid), INFINITY);
      ASSERT_EQ(f.encode(below), code) << f.name << " just below midpoint " << code;
      ASSERT_EQ(f.encode(above), code + 1) << f.name << " just above midpoint " << code;
    }
  }
}

TEST(DType, OverflowRules) {
  EXPECT_EQ(f32_to_fp8_e4m3(448.0f), 0x7E);
  EXPECT_EQ(f32_to_fp8_e4m3(460.0f), 0x7E);  // rounds down to 448
  EXPECT_EQ(f32_to_fp8_e4m3(1e6f), 0x7E);    // saturates
  EXPECT_EQ(f32_to_fp8_e4m3(-1e6f), 0xFE);
  EXPECT_EQ(f32_to_fp8_e4m3(INFINITY), 0x7E);  // saturates too
  EXPECT_TRUE(std::isnan(fp8_e4m3_to_f32(f32_to_fp8_e4m3(NAN))));
  EXPECT_EQ(f32_to_fp8_e5m2(57344.0f), 0x7B);
  EXPECT_EQ(f32_to_fp8_e5m2(61440.0f), 0x7C);  // the midpoint to 2^16 ties to even: infinity
  EXPECT_EQ(f32_to_fp8_e5m2(1e9f), 0x7C);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);
  EXPECT_EQ(f32_to_f16(-INFINITY), 0xFC00);
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::max()), 0x7F80);
  // f32 subnormals and the smallest values flush to the right code.
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);  // tie to even (zero)
  EXPECT_EQ(f32_to_bf16(std::ldexp(1.0f, -130)), 0x0008);
}

TEST(DType, NamesAndSizes) {
  for (DType d :
       {DType::kF32, DType::kF16, DType::kBF16, DType::kF8E4M3, DType::kF8E5M2, DType::kF64,
        DType::kI64, DType::kI32, DType::kI16, DType::kI8, DType::kU8, DType::kBool}) {
    EXPECT_EQ(parse_dtype_name(dtype_name(d)), d);
  }
  EXPECT_EQ(dtype_size(DType::kBF16), 2u);
  EXPECT_EQ(dtype_size(DType::kF8E5M2), 1u);
  EXPECT_FALSE(parse_dtype_name("F4").has_value());
}

}  // namespace
}  // namespace localmoe
