// Products of a weight matrix with many tokens at once (prefill, batched
// decode), compiled once per Highway target: a cache-blocked GEMM. One to a
// few tokens stay in matmul_hwy.cc's streaming products.
//
// Both operands keep the features contiguous (x: [tokens, K], w: [N, K]), so
// one of them has to be turned around for a register tile. We turn x: a
// block of tokens is packed feature-major, [K][tokens of a group], and the
// vectors run along tokens. Each weight is broadcast against one or two
// vectors of tokens, with no horizontal sums and no transposition of the
// (much larger) weight matrix:
//
//   acc[r][v] += broadcast(w[n + r, k]) * x_packed[k][v * lanes .. +lanes)
//
// Per call of the table entry, on one thread: tokens in blocks of
// kTokenBlock, packed once per thread and block over all features (the
// caller says when the previous call's packing still holds).
// - One group of tokens (up to two vectors: batched decode): register tiles
//   read their weight rows straight from memory over all features
//   (gemm_one_group_direct).
// - Several groups (prefill): rows in blocks of kRowBlock, features in
//   blocks of kFeatureBlock. Per feature block, the block's rows are widened
//   to f32 at once (the broadcast operand, in L2), then each group's slice
//   of packed tokens (the vector operand, in L1) passes every tile of rows;
//   the next feature block's weights are prefetched meanwhile. Partial sums
//   live in a transposed [rows][tokens] buffer and are written to y once.
// Every product is a plain f32 FMA chain over k per (row, token), the same
// arithmetic as the scalar reference up to the order of additions; no
// activation is rounded.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "localmoe/kernels/hwy/gemm_hwy.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "hwy/highway.h"
#include "localmoe/base/dtype.h"
#include "localmoe/base/error.h"
#include "localmoe/kernels/hwy/widen-inl.h"
#include "localmoe/kernels/kernel_table.h"

HWY_BEFORE_NAMESPACE();
namespace localmoe::kernels::HWY_NAMESPACE {
namespace {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;

// Accumulator registers of one tile: with 32 vector registers (AVX-512)
// 24, with 16 (AVX2, SSE4) 12; the rest hold the token vectors and the
// broadcast weight.
#if HWY_TARGET <= HWY_AVX3
constexpr int kAccumulators = 24;
#else
constexpr int kAccumulators = 12;
#endif
constexpr int64_t kFeatureBlock = 128;
// Widened weight rows are this far apart: 64 bytes more than a block, so
// the rows of a tile do not all fall into the same L1 sets.
constexpr int64_t kWeightStride = kFeatureBlock + 16;
constexpr int64_t kTokenBlock = 128;
constexpr int64_t kRowBlock = 96;  // a multiple of kAccumulators
static_assert(kRowBlock % kAccumulators == 0 && kAccumulators % 2 == 0);

// A group of tokens packed feature-major: `width` (one or two vectors)
// floats per feature, of which the first `count` are tokens and the rest
// zeros. Groups follow each other in the partial sums, so `first` is also
// the group's column there.
struct TokenGroup {
  int64_t first;  // index within the token block
  int64_t count;  // real tokens
  int64_t width;  // lanes per feature: count rounded up to whole vectors
};

// Groups of two vectors of tokens while more than one vector remains, then
// one: a block of 17 tokens on AVX2 is 16 + 1, not 16 + 16. (Wider groups
// need fewer broadcasts per FMA, and 3 rows x 4 vectors ran faster than
// 6 x 2 alone on Zen 3, but inside the GEMM they read each feature block of
// tokens more often and measured 10-15% slower.)
int64_t plan_groups(int64_t tokens, TokenGroup* groups) {
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(DF()));
  int64_t n = 0, first = 0;
  while (first < tokens) {
    const int64_t left = tokens - first;
    const int64_t width = left > lanes ? 2 * lanes : lanes;
    groups[n] = TokenGroup{first, std::min(left, width), width};
    first += width;
    ++n;
  }
  return n;
}

// x[token_begin + t, :] of every group into `packed`, group after group,
// each as [cols][width]. In chunks of 64 features: token rows are read in
// order and the chunk's output (64 x width floats) stays in L1. (Reading a
// feature of every token at once would hit token rows a power of two apart,
// all in the same cache sets.)
void pack_tokens(const float* x, int64_t cols, int64_t token_begin, const TokenGroup* groups,
                 int64_t num_groups, float* packed) {
  constexpr int64_t kChunk = 64;
  for (int64_t g = 0; g < num_groups; ++g) {
    const TokenGroup& group = groups[g];
    const float* src = x + (token_begin + group.first) * cols;
    float* out = packed + group.first * cols;
    for (int64_t k0 = 0; k0 < cols; k0 += kChunk) {
      const int64_t k1 = std::min(cols, k0 + kChunk);
      for (int64_t t = 0; t < group.count; ++t) {
        for (int64_t k = k0; k < k1; ++k) out[k * group.width + t] = src[t * cols + k];
      }
      for (int64_t t = group.count; t < group.width; ++t) {
        for (int64_t k = k0; k < k1; ++k) out[k * group.width + t] = 0.0f;
      }
    }
  }
}

// Rows [row, row + count) of w, features [k0, k0 + kc), widened to f32 at
// kWeightStride apart; rows beyond `count` up to the next multiple of
// kAccumulators are zeros (a tile's tail).
template <typename W>
void widen_rows(const W* w, int64_t cols, int64_t row, int64_t count, int64_t k0, int64_t kc,
                float* out) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  for (int64_t r = 0; r < count; ++r) {
    const W* src = w + (row + r) * cols + k0;
    float* dst = out + r * kWeightStride;
    int64_t k = 0;
    for (; k + lanes <= kc; k += lanes) hn::StoreU(load_as_f32(df, src + k), df, dst + k);
    for (; k < kc; ++k) dst[k] = scalar_as_f32(src[k]);
  }
  const int64_t padded = (count + kAccumulators - 1) / kAccumulators * kAccumulators;
  for (int64_t r = count; r < padded; ++r) std::fill_n(out + r * kWeightStride, kc, 0.0f);
}

// Requests rows [row, row + count) of w, features [k0, k0 + kc), into L2.
// A row block reads a short stretch of many rows, which the hardware
// prefetchers do not follow; the next feature block's stretch is requested
// a tile at a time while the current one is computed.
template <typename W>
void prefetch_rows(const W* w, int64_t cols, int64_t row, int64_t count, int64_t k0, int64_t kc) {
  for (int64_t r = 0; r < count; ++r) {
    const char* begin = reinterpret_cast<const char*>(w + (row + r) * cols + k0);
    const char* end = reinterpret_cast<const char*>(w + (row + r) * cols + k0 + kc);
    for (const char* p = begin; p < end; p += 64) __builtin_prefetch(p, /*rw=*/0, /*locality=*/2);
  }
}

// The register tile: kRows widened weight rows against kVecs vectors of
// packed tokens over kc features, added into (or, for the first feature
// block, stored to) the transposed partial sums sums[r][token].
template <int kRows, int kVecs>
HWY_INLINE void tile_product(const float* HWY_RESTRICT w, const float* HWY_RESTRICT tokens,
                             int64_t kc, float* HWY_RESTRICT sums, bool accumulate) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  hn::Vec<DF> acc[kRows][kVecs];
  for (int r = 0; r < kRows; ++r) {
    for (int v = 0; v < kVecs; ++v) acc[r][v] = hn::Zero(df);
  }
  for (int64_t k = 0; k < kc; ++k) {
    hn::Vec<DF> xv[kVecs];
    for (int v = 0; v < kVecs; ++v) xv[v] = hn::LoadU(df, tokens + (k * kVecs + v) * lanes);
    for (int r = 0; r < kRows; ++r) {
      const hn::Vec<DF> wr = hn::Set(df, w[r * kWeightStride + k]);
      for (int v = 0; v < kVecs; ++v) acc[r][v] = hn::MulAdd(wr, xv[v], acc[r][v]);
    }
  }
  for (int r = 0; r < kRows; ++r) {
    for (int v = 0; v < kVecs; ++v) {
      float* out = sums + r * kTokenBlock + v * lanes;
      const hn::Vec<DF> total = accumulate ? hn::Add(acc[r][v], hn::LoadU(df, out)) : acc[r][v];
      hn::StoreU(total, df, out);
    }
  }
}

// kRows x kVecs register tiles over a widened tile of kAccumulators rows.
template <int kVecs>
HWY_INLINE void tiles_of(const float* widened, const float* tokens, int64_t kc, float* out,
                         bool accumulate) {
  constexpr int kRows = kAccumulators / kVecs;
  for (int part = 0; part < kVecs; ++part) {
    tile_product<kRows, kVecs>(widened + static_cast<int64_t>(part) * kRows * kWeightStride, tokens,
                               kc, out + static_cast<int64_t>(part) * kRows * kTokenBlock,
                               accumulate);
  }
}

// One widened tile of rows against one group of packed tokens.
HWY_INLINE void group_product(const float* widened, const float* tokens, int64_t kc,
                              const TokenGroup& group, float* sums, bool accumulate) {
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(DF()));
  float* out = sums + group.first;
  if (group.width == lanes) {
    tiles_of<1>(widened, tokens, kc, out, accumulate);
  } else {
    tiles_of<2>(widened, tokens, kc, out, accumulate);
  }
}

// The partial sums of rows [row, row + rows) and tokens [token, token +
// tokens) into y.
void write_sums(const float* sums, int64_t token, int64_t tokens, int64_t row, int64_t rows,
                float* y, int64_t ldy) {
  for (int64_t t = 0; t < tokens; ++t) {
    float* out = y + (token + t) * ldy + row;
    for (int64_t r = 0; r < rows; ++r) out[r] = sums[r * kTokenBlock + t];
  }
}

// Packed tokens of one block over `cols` features, [cols][width] group after
// group (`floats` of them): grown per thread to a whole block (kTokenBlock x
// cols floats) at once, so token counts that vary from call to call (batched
// decode, MoE experts) never reallocate once a thread has seen each width.
float* packed_tokens(int64_t floats, int64_t cols) {
  thread_local std::vector<float> packed;
  if (packed.size() < static_cast<size_t>(floats)) {
    packed.resize(static_cast<size_t>(std::max(floats, kTokenBlock * cols)));
  }
  return packed.data();
}

// Rows [row_begin, row_end) against one block of packed tokens. Per row
// block and feature block, all rows are widened at once (the broadcast
// operand, 96 x 144 x 4 B = 54 KiB, in L2); then each group's feature block
// of tokens (the vector operand, 128 x 16 x 4 B = 8 KiB on AVX2, in L1)
// passes every tile of rows.
template <typename W>
void gemm_token_block(const W* w, int64_t cols, const float* packed, const TokenGroup* groups,
                      int64_t num_groups, int64_t token_begin, int64_t block_tokens,
                      int64_t row_begin, int64_t row_end, float* y, int64_t ldy) {
  HWY_ALIGN float widened[kRowBlock * kWeightStride];
  HWY_ALIGN float sums[kRowBlock * kTokenBlock];
  for (int64_t nb = row_begin; nb < row_end; nb += kRowBlock) {
    const int64_t block_rows = std::min(kRowBlock, row_end - nb);
    for (int64_t k0 = 0; k0 < cols; k0 += kFeatureBlock) {
      const int64_t kc = std::min(kFeatureBlock, cols - k0);
      const int64_t next_kc = std::min(kFeatureBlock, cols - k0 - kc);
      widen_rows(w, cols, nb, block_rows, k0, kc, widened);
      for (int64_t g = 0; g < num_groups; ++g) {
        const TokenGroup& group = groups[g];
        const float* tokens = packed + group.first * cols + k0 * group.width;
        for (int64_t r0 = 0; r0 < block_rows; r0 += kAccumulators) {
          if (g == 0 && next_kc > 0) {
            prefetch_rows(w, cols, nb + r0, std::min<int64_t>(kAccumulators, block_rows - r0),
                          k0 + kc, next_kc);
          }
          group_product(widened + r0 * kWeightStride, tokens, kc, group, sums + r0 * kTokenBlock,
                        /*accumulate=*/k0 > 0);
        }
      }
    }
    write_sums(sums, token_begin, block_tokens, nb, block_rows, y, ldy);
  }
}

// ---- one group: weights straight from memory ---------------------------------
//
// With at most two vectors of tokens (batched decode) each weight serves few
// FMAs, and widening a row block into a buffer first left the loads waiting
// on memory for about a quarter of the time. Instead a register tile reads
// its rows over all features directly: a few sequential row streams, which
// the hardware prefetchers follow. BF16 weights are read in pairs, one
// 32-bit broadcast giving two f32 weights (`lane << 16` and
// `lane & 0xFFFF0000`); F32 weights are broadcast as they are.

HWY_INLINE void broadcast_pair(DF df, const hwy::bfloat16_t* p, hn::Vec<DF>& even,
                               hn::Vec<DF>& odd) {
  const hn::RebindToUnsigned<DF> du;
  uint32_t pair;
  std::memcpy(&pair, p, sizeof(pair));
  const auto v = hn::Set(du, pair);
  even = hn::BitCast(df, hn::ShiftLeft<16>(v));
  odd = hn::BitCast(df, hn::And(v, hn::Set(du, 0xFFFF0000u)));
}
HWY_INLINE void broadcast_pair(DF df, const float* p, hn::Vec<DF>& even, hn::Vec<DF>& odd) {
  even = hn::Set(df, p[0]);
  odd = hn::Set(df, p[1]);
}

// Rows rows[0..kRows) (pointers into w) against kVecs vectors of packed
// tokens over all `cols` features, stored to sums[r][token].
template <int kRows, int kVecs, typename W>
HWY_INLINE void direct_tile(const W* const* rows, int64_t cols, const float* HWY_RESTRICT tokens,
                            float* HWY_RESTRICT sums) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  hn::Vec<DF> acc[kRows][kVecs];
  for (int r = 0; r < kRows; ++r) {
    for (int v = 0; v < kVecs; ++v) acc[r][v] = hn::Zero(df);
  }
  int64_t k = 0;
  for (; k + 2 <= cols; k += 2) {
    hn::Vec<DF> x0[kVecs], x1[kVecs];
    for (int v = 0; v < kVecs; ++v) {
      x0[v] = hn::LoadU(df, tokens + (k * kVecs + v) * lanes);
      x1[v] = hn::LoadU(df, tokens + ((k + 1) * kVecs + v) * lanes);
    }
    for (int r = 0; r < kRows; ++r) {
      hn::Vec<DF> even, odd;
      broadcast_pair(df, rows[r] + k, even, odd);
      for (int v = 0; v < kVecs; ++v) {
        acc[r][v] = hn::MulAdd(even, x0[v], acc[r][v]);
        acc[r][v] = hn::MulAdd(odd, x1[v], acc[r][v]);
      }
    }
  }
  for (; k < cols; ++k) {
    for (int r = 0; r < kRows; ++r) {
      const hn::Vec<DF> wr = hn::Set(df, scalar_as_f32(rows[r][k]));
      for (int v = 0; v < kVecs; ++v) {
        acc[r][v] = hn::MulAdd(wr, hn::LoadU(df, tokens + (k * kVecs + v) * lanes), acc[r][v]);
      }
    }
  }
  for (int r = 0; r < kRows; ++r) {
    for (int v = 0; v < kVecs; ++v) hn::StoreU(acc[r][v], df, sums + r * kTokenBlock + v * lanes);
  }
}

// Rows [row_begin, row_end) against one packed group, tile by tile; a tail
// tile repeats its last row (its extra sums are not written out).
template <int kVecs, typename W>
void gemm_one_group_direct(const W* w, int64_t cols, const float* packed, const TokenGroup& group,
                           int64_t token_begin, int64_t row_begin, int64_t row_end, float* y,
                           int64_t ldy) {
  // Half the accumulators' rows whatever the width: more row streams at
  // once (12 for one vector) measured slower.
  constexpr int kRows = kAccumulators / 2;
  HWY_ALIGN float sums[kRows * kTokenBlock];
  for (int64_t n = row_begin; n < row_end; n += kRows) {
    const W* rows[kRows];
    for (int r = 0; r < kRows; ++r) rows[r] = w + std::min<int64_t>(n + r, row_end - 1) * cols;
    direct_tile<kRows, kVecs>(rows, cols, packed, sums);
    write_sums(sums, token_begin, group.count, n, std::min<int64_t>(kRows, row_end - n), y, ldy);
  }
}

template <typename W>
void gemm_typed(const W* w, int64_t cols, const float* x, int64_t token_begin, int64_t token_end,
                int64_t row_begin, int64_t row_end, float* y, int64_t ldy, bool reuse_packed) {
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(DF()));
  TokenGroup groups[kTokenBlock];
  for (int64_t tb = token_begin; tb < token_end; tb += kTokenBlock) {
    const int64_t block_tokens = std::min(kTokenBlock, token_end - tb);
    const int64_t num_groups = plan_groups(block_tokens, groups);
    const TokenGroup& last = groups[num_groups - 1];
    float* packed = packed_tokens((last.first + last.width) * cols, cols);
    if (!reuse_packed) pack_tokens(x, cols, tb, groups, num_groups, packed);
    if constexpr (!std::is_same_v<W, hwy::float16_t>) {
      if (num_groups == 1) {
        if (groups[0].width == lanes) {
          gemm_one_group_direct<1>(w, cols, packed, groups[0], tb, row_begin, row_end, y, ldy);
        } else {
          gemm_one_group_direct<2>(w, cols, packed, groups[0], tb, row_begin, row_end, y, ldy);
        }
        continue;
      }
    }
    gemm_token_block(w, cols, packed, groups, num_groups, tb, block_tokens, row_begin, row_end, y,
                     ldy);
  }
}

template <typename W>
void GemmAs(const Weight& w, const float* x, int64_t token_begin, int64_t token_end,
            int64_t row_begin, int64_t row_end, float* y, int64_t ldy, bool reuse_packed) {
  // Packing is kept per block: a call over more than one block packs each.
  LM_DCHECK(!reuse_packed || token_end - token_begin <= kTokenBlock);
  gemm_typed(static_cast<const W*>(w.data), w.cols, x, token_begin, token_end, row_begin, row_end,
             y, ldy, reuse_packed);
}

}  // namespace

// Called by matmul_hwy.cc's FillMatmul for the same target.
void FillGemm(KernelTable& table) {
  table.matmul_block[static_cast<int>(WeightFormat::kF32)] = GemmAs<float>;
  table.matmul_block[static_cast<int>(WeightFormat::kF16)] = GemmAs<hwy::float16_t>;
  table.matmul_block[static_cast<int>(WeightFormat::kBF16)] = GemmAs<hwy::bfloat16_t>;
}

}  // namespace localmoe::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();
