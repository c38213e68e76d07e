// The BF16 dot-product GEMM (gemm_avx512bf16.h). Same outer design as the
// f32 GEMM of hwy/gemm_hwy.cc (tokens packed feature-major, vectors along
// tokens, weights broadcast, no transposition of the weight matrix), with
// features taken in pairs: a block of tokens is packed as 32-bit words
// (bf16 x[t, 2j], bf16 x[t, 2j + 1]), [pairs][tokens of a group], and the
// weight pair (w[n, 2j], w[n, 2j + 1]) is already such a word in the weight
// as stored, so it is broadcast straight from it:
//
//   acc[r][v] = vdpbf16ps(acc[r][v], x_pairs[j][v * 16 .. +16), broadcast(w_pair[n + r][j]))
//
// Each instruction does 32 multiply-adds, twice an f32 FMA's, and the
// weights are never widened. (Sapphire Rapids issues it once per two cycles,
// half the FMA's rate, so there it is no faster than the f32 GEMM;
// kernels.cpp orders the variants by that.)
// - One group of tokens (up to 32: batched decode): register tiles read
//   their weight rows straight from memory over all features.
// - Several groups (prefill): rows in blocks of kRowBlock, features in
//   blocks of kPairBlock pairs. Each block of weights is copied once into a
//   buffer with padded rows (in L2; rows of the matrix are a power of two
//   apart and would share L1 sets), then every group's slice of packed
//   tokens (in L1) passes every tile of its rows.
//
// This file is compiled with -mavx512f -mavx512bw -mavx512vl -mavx512bf16.
// It therefore uses no inline function or template with external linkage
// (the standard library's included): the linker keeps one copy of such a
// function for the whole program, and it could be this file's, with AVX-512
// instructions, called on a CPU without them. Everything here has internal
// linkage but the two entry points.

#include "localmoe/kernels/x86/gemm_avx512bf16.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "localmoe/base/error.h"
#include "localmoe/kernels/x86/intrinsics.h"

namespace localmoe::kernels {
namespace {

constexpr int64_t kLanes = 16;  // f32 lanes of a 512-bit vector
// Tokens per packed block: matmul.cpp's work items have at most as many.
constexpr int64_t kTokenBlock = kBf16DotBlockTokens;
constexpr int64_t kMaxGroups = kTokenBlock / kLanes;
// The prefill tile: 12 rows x 2 vectors of tokens = 24 accumulators, 2
// token vectors, the broadcast weight a memory operand; 14 loads per 24
// dot products keep the loads below the two per cycle the cores sustain.
constexpr int kTileRows = 12;
constexpr int64_t kRowBlock = 96;  // a multiple of kTileRows
// Prefill feature block, in pairs: a group's slice of packed tokens is
// 128 pairs x 32 tokens x 4 B = 16 KiB (L1).
constexpr int64_t kPairBlock = 128;
// Copied weight rows are this many words apart: 64 bytes more than a block.
constexpr int64_t kWeightStride = kPairBlock + 16;
// Rows of the one-group tile, read straight from the weight matrix.
constexpr int kDirectRows = 12;
static_assert(kRowBlock % kTileRows == 0);

int64_t min_of(int64_t a, int64_t b) {
  return a < b ? a : b;
}

__m512bh as_bf16_pairs(__m512i v) {
  return (__m512bh)v;  // NOLINT(google-readability-casting): vector types convert only this way
}

// A group of tokens packed [pairs][width]: `count` real tokens, then zeros
// up to `width` (one or two vectors). Groups follow each other in the
// partial sums, so `first` is also the group's column there.
struct TokenGroup {
  int64_t first;  // index within the token block
  int64_t count;  // real tokens
  int64_t width;  // 16 or 32
};

// Groups of two vectors while more than one vector of tokens is left, then
// one: 40 tokens are 32 + 16, 17 tokens one group of 32.
int64_t plan_groups(int64_t tokens, TokenGroup* groups) {
  int64_t n = 0;
  for (int64_t first = 0; first < tokens; ++n) {
    const int64_t left = tokens - first;
    const int64_t width = left > kLanes ? 2 * kLanes : kLanes;
    groups[n] = TokenGroup{first, min_of(left, width), width};
    first += width;
  }
  return n;
}

// One buffer of thread_words().
class ThreadBuffer {
 public:
  ThreadBuffer() = default;
  ThreadBuffer(const ThreadBuffer&) = delete;
  ThreadBuffer& operator=(const ThreadBuffer&) = delete;
  ~ThreadBuffer() { std::free(words_); }

  uint32_t* words(int64_t count, int64_t reserve) {
    if (count > capacity_) {
      LM_DCHECK(reserve >= count);
      std::free(words_);
      // Whole cache lines: aligned_alloc wants a multiple of the alignment.
      const size_t bytes = (static_cast<size_t>(reserve) * 4 + 63) / 64 * 64;
      words_ = static_cast<uint32_t*>(std::aligned_alloc(64, bytes));
      LM_CHECK(words_ != nullptr);
      capacity_ = reserve;
    }
    return words_;
  }

 private:
  uint32_t* words_ = nullptr;
  int64_t capacity_ = 0;
};

// ---- packing -----------------------------------------------------------------

// rows[i] word j becomes rows[j] word i (a 16 x 16 transposition of 32-bit
// words: pairs of 32-bit lanes, then 64-bit lanes, then 128-bit quarters).
void transpose_words(__m512i* rows) {
  __m512i t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(rows[i], rows[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(rows[i], rows[i + 1]);
  }
  // u[4q + e]: words e (of each quarter) of rows 4q .. 4q + 3.
  __m512i u[16];
  for (int64_t q = 0; q < 4; ++q) {
    const __m512i* tq = t + 4 * q;
    u[4 * q + 0] = _mm512_unpacklo_epi64(tq[0], tq[2]);
    u[4 * q + 1] = _mm512_unpackhi_epi64(tq[0], tq[2]);
    u[4 * q + 2] = _mm512_unpacklo_epi64(tq[1], tq[3]);
    u[4 * q + 3] = _mm512_unpackhi_epi64(tq[1], tq[3]);
  }
  for (int e = 0; e < 4; ++e) {
    // Quarters 0, 2 / 1, 3 of rows 0-3 and 4-7, then of 8-11 and 12-15.
    const __m512i s0 = _mm512_shuffle_i32x4(u[e], u[4 + e], 0x88);
    const __m512i s1 = _mm512_shuffle_i32x4(u[e], u[4 + e], 0xdd);
    const __m512i s2 = _mm512_shuffle_i32x4(u[8 + e], u[12 + e], 0x88);
    const __m512i s3 = _mm512_shuffle_i32x4(u[8 + e], u[12 + e], 0xdd);
    rows[e] = _mm512_shuffle_i32x4(s0, s2, 0x88);
    rows[8 + e] = _mm512_shuffle_i32x4(s0, s2, 0xdd);
    rows[4 + e] = _mm512_shuffle_i32x4(s1, s3, 0x88);
    rows[12 + e] = _mm512_shuffle_i32x4(s1, s3, 0xdd);
  }
}

__mmask16 first_lanes(int64_t n) {
  if (n >= kLanes) return 0xFFFF;
  return n <= 0 ? 0 : static_cast<__mmask16>((1u << n) - 1);
}

// Tokens of every group into `packed`, group after group, each as
// [pairs][width] words.
void pack_tokens(const float* x, int64_t cols, int64_t token_begin, const TokenGroup* groups,
                 int64_t num_groups, uint32_t* packed) {
  const int64_t pairs = (cols + 1) / 2;
  for (int64_t g = 0; g < num_groups; ++g) {
    const TokenGroup& group = groups[g];
    pack_bf16_pairs(x, cols, token_begin + group.first, group.count, group.width,
                    packed + group.first * pairs);
  }
}

// ---- register tiles ----------------------------------------------------------

// kRows weight rows (words `stride` apart) against kVecs vectors of packed
// tokens over `pairs` pairs, added into (or stored to) sums[r][token].
template <int kRows, int kVecs>
inline __attribute__((always_inline)) void tile_product(const uint32_t* __restrict w,
                                                        int64_t stride,
                                                        const uint32_t* __restrict tokens,
                                                        int64_t pairs, float* __restrict sums,
                                                        bool accumulate) {
  __m512 acc[kRows][kVecs];
  for (int r = 0; r < kRows; ++r) {
    for (int v = 0; v < kVecs; ++v) acc[r][v] = _mm512_setzero_ps();
  }
  for (int64_t p = 0; p < pairs; ++p) {
    __m512bh xv[kVecs];
    for (int v = 0; v < kVecs; ++v) {
      xv[v] = as_bf16_pairs(_mm512_load_si512(tokens + (p * kVecs + v) * kLanes));
    }
    for (int r = 0; r < kRows; ++r) {
      const __m512bh wr = as_bf16_pairs(_mm512_set1_epi32(static_cast<int>(w[r * stride + p])));
      for (int v = 0; v < kVecs; ++v) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], xv[v], wr);
    }
  }
  for (int r = 0; r < kRows; ++r) {
    for (int v = 0; v < kVecs; ++v) {
      float* out = sums + r * kTokenBlock + v * kLanes;
      const __m512 total = accumulate ? _mm512_add_ps(acc[r][v], _mm512_loadu_ps(out)) : acc[r][v];
      _mm512_storeu_ps(out, total);
    }
  }
}

// The pair of features (2j, 2j + 1) of a stored BF16 row, as one word.
uint32_t weight_pair(const uint16_t* row, int64_t j) {
  uint32_t word;
  std::memcpy(&word, row + 2 * j, sizeof(word));
  return word;
}

// rows[0..kRows) (pointers into the weight matrix) against kVecs vectors of
// packed tokens over all `cols` features, stored to sums[r][token]. An odd
// last feature pairs with zero: the word past it is not read.
template <int kRows, int kVecs>
inline __attribute__((always_inline)) void direct_tile(const uint16_t* const* rows, int64_t cols,
                                                       const uint32_t* __restrict tokens,
                                                       float* __restrict sums) {
  __m512 acc[kRows][kVecs];
  for (int r = 0; r < kRows; ++r) {
    for (int v = 0; v < kVecs; ++v) acc[r][v] = _mm512_setzero_ps();
  }
  const int64_t full_pairs = cols / 2;
  for (int64_t p = 0; p < full_pairs; ++p) {
    __m512bh xv[kVecs];
    for (int v = 0; v < kVecs; ++v) {
      xv[v] = as_bf16_pairs(_mm512_load_si512(tokens + (p * kVecs + v) * kLanes));
    }
    for (int r = 0; r < kRows; ++r) {
      const __m512bh wr =
          as_bf16_pairs(_mm512_set1_epi32(static_cast<int>(weight_pair(rows[r], p))));
      for (int v = 0; v < kVecs; ++v) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], xv[v], wr);
    }
  }
  if (cols % 2 != 0) {
    const int64_t p = full_pairs;
    for (int r = 0; r < kRows; ++r) {
      const __m512bh wr = as_bf16_pairs(_mm512_set1_epi32(rows[r][cols - 1]));
      for (int v = 0; v < kVecs; ++v) {
        const __m512bh xv = as_bf16_pairs(_mm512_load_si512(tokens + (p * kVecs + v) * kLanes));
        acc[r][v] = _mm512_dpbf16_ps(acc[r][v], xv, wr);
      }
    }
  }
  for (int r = 0; r < kRows; ++r) {
    for (int v = 0; v < kVecs; ++v)
      _mm512_storeu_ps(sums + r * kTokenBlock + v * kLanes, acc[r][v]);
  }
}

// ---- blocks ------------------------------------------------------------------

// The partial sums of rows [row, row + rows) and tokens [token, token +
// tokens) into y.
void write_sums(const float* sums, int64_t token, int64_t tokens, int64_t row, int64_t rows,
                float* y, int64_t ldy) {
  transpose_words_to(reinterpret_cast<const uint32_t*>(sums), kTokenBlock, rows, tokens,
                     reinterpret_cast<uint32_t*>(y + token * ldy + row), ldy);
}

// Rows [row_begin, row_end) against one packed group, tile by tile; a tail
// tile repeats its last row (its extra sums are not written out).
template <int kVecs>
void direct_rows(const uint16_t* w, int64_t cols, const uint32_t* packed, const TokenGroup& group,
                 int64_t token_begin, int64_t row_begin, int64_t row_end, float* y, int64_t ldy) {
  alignas(64) float sums[kDirectRows * kTokenBlock];
  for (int64_t n = row_begin; n < row_end; n += kDirectRows) {
    const uint16_t* rows[kDirectRows];
    for (int r = 0; r < kDirectRows; ++r) rows[r] = w + min_of(n + r, row_end - 1) * cols;
    direct_tile<kDirectRows, kVecs>(rows, cols, packed, sums);
    write_sums(sums, token_begin, group.count, n, min_of(kDirectRows, row_end - n), y, ldy);
  }
}

// Rows [row, row + count) of w, pairs [p0, p0 + pc), copied kWeightStride
// words apart; an odd last feature pairs with zero, and rows from `count` up
// to `padded` are zeros (a tile's tail).
void copy_weights(const uint16_t* w, int64_t cols, int64_t row, int64_t count, int64_t padded,
                  int64_t p0, int64_t pc, uint32_t* out) {
  const int64_t features = min_of(2 * pc, cols - 2 * p0);
  for (int64_t r = 0; r < count; ++r) {
    uint32_t* dst = out + r * kWeightStride;
    std::memcpy(dst, w + (row + r) * cols + 2 * p0, static_cast<size_t>(features) * 2);
    if (features % 2 != 0) std::memset(reinterpret_cast<uint16_t*>(dst) + features, 0, 2);
  }
  for (int64_t r = count; r < padded; ++r) {
    std::memset(out + r * kWeightStride, 0, static_cast<size_t>(pc) * 4);
  }
}

// Requests rows [row, row + count) of w, pairs [p0, p0 + pc), into L2: a
// block reads a short stretch of many rows, which the hardware prefetchers
// do not follow, so the next one is requested while this one is computed.
void prefetch_weights(const uint16_t* w, int64_t cols, int64_t row, int64_t count, int64_t p0,
                      int64_t pc) {
  for (int64_t r = 0; r < count; ++r) {
    const char* begin = reinterpret_cast<const char*>(w + (row + r) * cols + 2 * p0);
    const char* end = begin + pc * 4;
    for (const char* p = begin; p < end; p += 64) _mm_prefetch(p, _MM_HINT_T1);
  }
}

// Rows [row_begin, row_end) against several packed groups (prefill).
void prefill_rows(const uint16_t* w, int64_t cols, const uint32_t* packed, const TokenGroup* groups,
                  int64_t num_groups, int64_t token_begin, int64_t block_tokens, int64_t row_begin,
                  int64_t row_end, float* y, int64_t ldy) {
  alignas(64) uint32_t weights[kRowBlock * kWeightStride];
  alignas(64) float sums[kRowBlock * kTokenBlock];
  const int64_t pairs = (cols + 1) / 2;
  for (int64_t nb = row_begin; nb < row_end; nb += kRowBlock) {
    const int64_t block_rows = min_of(kRowBlock, row_end - nb);
    const int64_t padded_rows = (block_rows + kTileRows - 1) / kTileRows * kTileRows;
    for (int64_t p0 = 0; p0 < pairs; p0 += kPairBlock) {
      const int64_t pc = min_of(kPairBlock, pairs - p0);
      const int64_t next_pc = min_of(kPairBlock, pairs - p0 - pc);
      copy_weights(w, cols, nb, block_rows, padded_rows, p0, pc, weights);
      for (int64_t g = 0; g < num_groups; ++g) {
        const TokenGroup& group = groups[g];
        const uint32_t* tokens = packed + group.first * pairs + p0 * group.width;
        for (int64_t r0 = 0; r0 < padded_rows; r0 += kTileRows) {
          if (g == 0 && next_pc > 0 && r0 < block_rows) {
            prefetch_weights(w, cols, nb + r0, min_of(kTileRows, block_rows - r0), p0 + pc,
                             next_pc);
          }
          const uint32_t* tile_weights = weights + r0 * kWeightStride;
          float* out = sums + r0 * kTokenBlock + group.first;
          if (group.width == kLanes) {
            tile_product<kTileRows, 1>(tile_weights, kWeightStride, tokens, pc, out, p0 > 0);
          } else {
            tile_product<kTileRows, 2>(tile_weights, kWeightStride, tokens, pc, out, p0 > 0);
          }
        }
      }
    }
    write_sums(sums, token_begin, block_tokens, nb, block_rows, y, ldy);
  }
}

}  // namespace

uint32_t* thread_words(int slot, int64_t count, int64_t reserve) {
  thread_local ThreadBuffer buffers[kThreadBufferSlots];
  LM_CHECK(slot >= 0 && slot < kThreadBufferSlots);
  return buffers[slot].words(count, reserve);
}

void transpose_words_to(const uint32_t* in, int64_t in_stride, int64_t rows, int64_t cols,
                        uint32_t* out, int64_t out_stride) {
  for (int64_t r0 = 0; r0 < rows; r0 += 16) {
    const int64_t block_rows = min_of(16, rows - r0);
    for (int64_t c0 = 0; c0 < cols; c0 += 16) {
      const int64_t block_cols = min_of(16, cols - c0);
      const __mmask16 in_lanes = first_lanes(block_cols);
      __m512i block[16];
      for (int64_t r = 0; r < 16; ++r) {
        block[r] = r < block_rows
                       ? _mm512_maskz_loadu_epi32(in_lanes, in + (r0 + r) * in_stride + c0)
                       : _mm512_setzero_si512();
      }
      transpose_words(block);
      const __mmask16 out_lanes = first_lanes(block_rows);
      for (int64_t c = 0; c < block_cols; ++c) {
        _mm512_mask_storeu_epi32(out + (c0 + c) * out_stride + r0, out_lanes, block[c]);
      }
    }
  }
}

// 16 tokens x 16 pairs at a time: their rows rounded to BF16 pairs, then
// transposed.
void pack_bf16_pairs(const float* x, int64_t cols, int64_t first, int64_t count, int64_t width,
                     uint32_t* out) {
  const int64_t pairs = (cols + 1) / 2;
  for (int64_t v = 0; v * kLanes < width; ++v) {
    const int64_t tokens = min_of(count - v * kLanes, kLanes);
    const float* src = x + (first + v * kLanes) * cols;
    for (int64_t p0 = 0; p0 < pairs; p0 += 16) {
      const int64_t features = cols - 2 * p0;
      const __mmask16 low = first_lanes(features);
      const __mmask16 high = first_lanes(features - kLanes);
      __m512i rows[16];
      for (int64_t i = 0; i < 16; ++i) {
        if (i >= tokens) {
          rows[i] = _mm512_setzero_si512();
          continue;
        }
        const float* row = src + i * cols + 2 * p0;
        const __m512 lo = _mm512_maskz_loadu_ps(low, row);
        const __m512 hi = _mm512_maskz_loadu_ps(high, row + kLanes);
        rows[i] = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);  // NOLINT(google-readability-casting)
      }
      transpose_words(rows);
      const int64_t count_pairs = min_of(16, pairs - p0);
      for (int64_t j = 0; j < count_pairs; ++j) {
        _mm512_store_si512(out + (p0 + j) * width + v * kLanes, rows[j]);
      }
    }
  }
}

void gemm_bf16_dot(const Weight& w, const float* x, int64_t token_begin, int64_t token_end,
                   int64_t row_begin, int64_t row_end, float* y, int64_t ldy, bool reuse_packed_x) {
  const auto* weights = static_cast<const uint16_t*>(w.data);
  const int64_t cols = w.cols;
  const int64_t pairs = (cols + 1) / 2;
  // Packing is kept per block: a call over more than one block packs each.
  LM_DCHECK(!reuse_packed_x || token_end - token_begin <= kTokenBlock);
  TokenGroup groups[kMaxGroups];
  for (int64_t tb = token_begin; tb < token_end; tb += kTokenBlock) {
    const int64_t block_tokens = min_of(kTokenBlock, token_end - tb);
    const int64_t num_groups = plan_groups(block_tokens, groups);
    const TokenGroup& last = groups[num_groups - 1];
    uint32_t* packed =
        thread_words(/*slot=*/0, (last.first + last.width) * pairs, kTokenBlock * pairs);
    if (!reuse_packed_x) pack_tokens(x, cols, tb, groups, num_groups, packed);
    if (num_groups > 1) {
      prefill_rows(weights, cols, packed, groups, num_groups, tb, block_tokens, row_begin, row_end,
                   y, ldy);
    } else if (groups[0].width == kLanes) {
      direct_rows<1>(weights, cols, packed, groups[0], tb, row_begin, row_end, y, ldy);
    } else {
      direct_rows<2>(weights, cols, packed, groups[0], tb, row_begin, row_end, y, ldy);
    }
  }
}

// Sixteen chains cover vdpbf16ps' latency times its two pipes.
double bf16_dot_peak_probe(int64_t iterations) {
  constexpr int kChains = 16;
  const __m512bh a = as_bf16_pairs(_mm512_set1_epi32(0x3f7f3f7f));  // bf16 0.996 twice
  const __m512bh b = as_bf16_pairs(_mm512_set1_epi32(0x33d633d6));  // bf16 1e-7 twice
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(static_cast<float>(c));
  for (int64_t i = 0; i < iterations; ++i) {
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_dpbf16_ps(acc[c], a, b);
  }
  __m512 total = _mm512_setzero_ps();
  for (int c = 0; c < kChains; ++c) total = _mm512_add_ps(total, acc[c]);
  volatile float keep = _mm512_reduce_add_ps(total);
  (void)keep;
  return 4.0 * kLanes * kChains * static_cast<double>(iterations);
}

}  // namespace localmoe::kernels
