// Matrix products with weights in their stored dtype (F32, F16, BF16),
// compiled once per Highway target. Decode is a matrix-vector product bound
// by memory bandwidth: each weight byte is read exactly once, four rows at a
// time so several streams are in flight while x stays in L1. Prefill reuses
// each block of four weight rows across a tile of tokens.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "localmoe/kernels/hwy/matmul_hwy.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <bit>
#include <cstdint>

#include "hwy/highway.h"
#include "localmoe/base/error.h"
#include "localmoe/base/tensor.h"

HWY_BEFORE_NAMESPACE();
namespace localmoe::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;

// Loads Lanes(DF) weights starting at p as f32.
HWY_INLINE hn::Vec<DF> load_weights(DF df, const float* p) { return hn::LoadU(df, p); }
HWY_INLINE hn::Vec<DF> load_weights(DF df, const hwy::bfloat16_t* p) {
  return hn::PromoteTo(df, hn::LoadU(hn::Rebind<hwy::bfloat16_t, DF>(), p));
}
HWY_INLINE hn::Vec<DF> load_weights(DF df, const hwy::float16_t* p) {
  return hn::PromoteTo(df, hn::LoadU(hn::Rebind<hwy::float16_t, DF>(), p));
}

HWY_INLINE float to_f32(float v) { return v; }
HWY_INLINE float to_f32(hwy::bfloat16_t v) { return bf16_to_f32(std::bit_cast<uint16_t>(v)); }
HWY_INLINE float to_f32(hwy::float16_t v) { return f16_to_f32(std::bit_cast<uint16_t>(v)); }

// Registers hold kRows x kTokens accumulators plus kRows weight vectors:
// with 32 vector registers (AVX-512) a 4x4 tile fits, with 16 a 4x2 one.
#if HWY_TARGET <= HWY_AVX3
constexpr int64_t kTokenTile = 4;
#else
constexpr int64_t kTokenTile = 2;
#endif
constexpr int64_t kRowTile = 4;

// y[t, n0..n0+kRows) for tokens t0..t0+kTokens over the full K.
template <int64_t kRows, int64_t kTokens, typename W>
HWY_INLINE void tile(const W* w, int64_t cols, const float* x, int64_t n0, int64_t t0, float* y,
                     int64_t ldy) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  hn::Vec<DF> acc[kRows][kTokens];
  HWY_UNROLL(4)
  for (int64_t r = 0; r < kRows; ++r) {
    HWY_UNROLL(4)
    for (int64_t t = 0; t < kTokens; ++t) acc[r][t] = hn::Zero(df);
  }
  const W* rows[kRows];
  for (int64_t r = 0; r < kRows; ++r) rows[r] = w + (n0 + r) * cols;
  const float* xs[kTokens];
  for (int64_t t = 0; t < kTokens; ++t) xs[t] = x + (t0 + t) * cols;

  int64_t k = 0;
  for (; k + lanes <= cols; k += lanes) {
    hn::Vec<DF> wv[kRows];
    HWY_UNROLL(4)
    for (int64_t r = 0; r < kRows; ++r) wv[r] = load_weights(df, rows[r] + k);
    HWY_UNROLL(4)
    for (int64_t t = 0; t < kTokens; ++t) {
      const hn::Vec<DF> xv = hn::LoadU(df, xs[t] + k);
      HWY_UNROLL(4)
      for (int64_t r = 0; r < kRows; ++r) acc[r][t] = hn::MulAdd(wv[r], xv, acc[r][t]);
    }
  }
  for (int64_t r = 0; r < kRows; ++r) {
    for (int64_t t = 0; t < kTokens; ++t) {
      float sum = hn::GetLane(hn::SumOfLanes(df, acc[r][t]));
      for (int64_t kk = k; kk < cols; ++kk) sum += to_f32(rows[r][kk]) * xs[t][kk];
      y[(t0 + t) * ldy + n0 + r] = sum;
    }
  }
}

// Decode's matrix-vector product for one row: the rows of a row-major matrix
// are contiguous, so walking them in order is one sequential stream, the
// pattern hardware prefetchers serve at full bandwidth (interleaving several
// rows makes several short streams, a page each, and loses half of it).
// Four accumulators hide the FMA latency; x stays in L1.
template <typename W>
HWY_INLINE float gemv_row(const W* row, int64_t cols, const float* x) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  hn::Vec<DF> a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
  int64_t k = 0;
  for (; k + 4 * lanes <= cols; k += 4 * lanes) {
    a0 = hn::MulAdd(load_weights(df, row + k), hn::LoadU(df, x + k), a0);
    a1 = hn::MulAdd(load_weights(df, row + k + lanes), hn::LoadU(df, x + k + lanes), a1);
    a2 = hn::MulAdd(load_weights(df, row + k + 2 * lanes), hn::LoadU(df, x + k + 2 * lanes), a2);
    a3 = hn::MulAdd(load_weights(df, row + k + 3 * lanes), hn::LoadU(df, x + k + 3 * lanes), a3);
  }
  for (; k + lanes <= cols; k += lanes) {
    a0 = hn::MulAdd(load_weights(df, row + k), hn::LoadU(df, x + k), a0);
  }
  float sum = hn::GetLane(hn::SumOfLanes(df, hn::Add(hn::Add(a0, a1), hn::Add(a2, a3))));
  for (; k < cols; ++k) sum += to_f32(row[k]) * x[k];
  return sum;
}

template <typename W>
void matmul_rows_typed(const W* w, int64_t cols, const float* x, int64_t num_tokens,
                       int64_t row_begin, int64_t row_end, float* y, int64_t ldy) {
  int64_t n = row_begin;
  if (num_tokens == 1) {
    for (; n < row_end; ++n) y[n] = gemv_row(w + n * cols, cols, x);
  }
  for (; n + kRowTile <= row_end; n += kRowTile) {
    int64_t t = 0;
    for (; t + kTokenTile <= num_tokens; t += kTokenTile) {
      tile<kRowTile, kTokenTile>(w, cols, x, n, t, y, ldy);
    }
    for (; t < num_tokens; ++t) tile<kRowTile, 1>(w, cols, x, n, t, y, ldy);
  }
  for (; n < row_end; ++n) {
    for (int64_t t = 0; t < num_tokens; ++t) tile<1, 1>(w, cols, x, n, t, y, ldy);
  }
}

void MatmulRows(const TensorView& w, const float* x, int64_t num_tokens, int64_t row_begin,
                int64_t row_end, float* y, int64_t ldy) {
  const int64_t cols = w.cols();
  switch (w.dtype) {
    case DType::kF32:
      return matmul_rows_typed(w.as<float>(), cols, x, num_tokens, row_begin, row_end, y, ldy);
    case DType::kBF16:
      return matmul_rows_typed(w.as<hwy::bfloat16_t>(), cols, x, num_tokens, row_begin, row_end,
                               y, ldy);
    case DType::kF16:
      return matmul_rows_typed(w.as<hwy::float16_t>(), cols, x, num_tokens, row_begin, row_end,
                               y, ldy);
    default: LM_CHECK(false && "matmul weight dtype must be F32, F16 or BF16");
  }
}

}  // namespace localmoe::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace localmoe::kernels {
HWY_EXPORT(MatmulRows);

void highway_matmul_rows(const TensorView& w, const float* x, int64_t num_tokens,
                         int64_t row_begin, int64_t row_end, float* y, int64_t ldy) {
  HWY_DYNAMIC_DISPATCH(MatmulRows)(w, x, num_tokens, row_begin, row_end, y, ldy);
}
}  // namespace localmoe::kernels
#endif
