// The AMX-BF16 GEMM (gemm_amx_bf16.h). Tiles hold 16 rows of 64 bytes;
// tdpbf16ps adds A [16 x 32 BF16] times B [32 x 16 BF16, in pairs] into C
// [16 x 16 f32]. Two ways to lay a product on tiles, chosen by token count:
//
// Weights as A (below kTokensAsAMinTokens). The weight matrix as stored is
// an A operand: 16 of its rows, 32 features each, are one tile load at the
// matrix's row stride, so weights are neither repacked nor widened, and a
// few tokens cost little more than the weight stream. Tokens packed as BF16
// pairs in groups of 16 ([pairs][16 tokens], pack_bf16_pairs) are B
// operands. C is [rows][tokens], partial sums transposed into y once. Per
// call: all its tokens packed once per thread (the caller says when the
// previous call's packing still holds); then per block of up to 192 rows,
// whose weights stay in L2, each block of 128 tokens in turn, 32 rows x 32
// tokens at a time: four C tiles over a chunk of 2048 features from two A
// and two B loads per 32 features, kept in the partial sums between chunks.
// Chunks keep a block's packed tokens (128 x 2048 x 2 B = 512 KiB) in L2 for
// wider matrices: Mixtral's 14336-feature w2 ran 1.5x faster with them,
// TinyLlama's 5632-feature down_proj 1.1x. A tile whose rows or features run
// past the matrix reads a zero-padded copy of its rows.
//
// Tokens as A (from kTokensAsAMinTokens on). Tokens rounded to BF16 rows are
// the A operand and the weights, repacked per call, the B operand, so a C
// tile is 16 tokens x 16 outputs, y's own layout: tiles are stored straight
// into y with no transposition pass (which took 19% of a 512-token product
// the other way). Per call: the tokens as rows 64 bytes more apart than the
// features (so a tile's 16 rows never share an L1 set), once per thread;
// per chunk of features (all of them up to 3072), the rows' weights as 1 KB
// B tiles (a 16 x 16 transposition of 32-bit feature pairs, the matrix read
// once per call); then per pair of token groups, each pair of B tiles in
// turn, four C tiles kept in tile registers over the whole chunk. A call
// whose tokens or rows are not whole tiles sums into a padded output.
//
// Measured on the Sapphire Rapids host against the tdpbf16ps peak of
// amx_bf16_peak_probe, TinyLlama's 2048 x 2048 product: one thread at 512
// tokens, weights as A 21-26%, tokens as A 31%; two threads, tokens as A
// against weights as A, 0.88x at 128 tokens, 0.98x at 192, 1.01-1.07x at
// 256, 1.04-1.15x at 384, 1.05-1.18x at 512 (q_proj, gate/up_proj,
// down_proj, lm_head), because repacking the weights costs more than it
// saves while few tokens share them. The same four tdpbf16ps reach 86% of
// the peak with their operands in L1, 65% with both streamed from L2 and
// 12-30% from beyond L2, where a 512-token block's rows (2 MiB at 2048
// features) live: the two threads' shared caches, not the tiles, bound
// these products.
//
// Compiled with -mamx-tile -mamx-bf16 and AVX-512; like gemm_avx512bf16.cpp
// it uses no inline function or template with external linkage, and the
// tile configuration is loaded and released within each call.

#include "localmoe/kernels/x86/gemm_amx_bf16.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "localmoe/base/error.h"
#include "localmoe/kernels/x86/gemm_avx512bf16.h"
#include "localmoe/kernels/x86/intrinsics.h"

namespace localmoe::kernels {
namespace {

constexpr int64_t kTileRows = 16;      // rows of every tile: 16 tokens, outputs or pairs
constexpr int64_t kTilePairs = 16;     // feature pairs of a tile row (64 bytes)
constexpr int64_t kStepFeatures = 32;  // features per tdpbf16ps
constexpr int64_t kTileWords = kTileRows * kTileRows;
// Weights as A: tokens per block of partial sums, and its row stride.
constexpr int64_t kTokenBlock = 128;
constexpr int64_t kSumsStride = kTokenBlock;
// The most rows of one call (matmul.cpp's work items have at most as many),
// and 32-feature steps per chunk of features: weights as A take chunks of
// 2048 features, tokens as A as few chunks of at most 3072 as the features
// allow.
constexpr int64_t kRowBlock = 192;
constexpr int64_t kChunkSteps = 64;
constexpr int64_t kMaxChunkSteps = 96;
// Tokens as A: bf16 values of padding between packed token rows (64 bytes).
constexpr int64_t kRowPadding = 32;
// Thread buffers (gemm_avx512bf16.h): the packed tokens (pairs, or rows for
// tokens as A), the padded weight rows or the weights' B tiles, and the
// padded output of a call whose tokens or rows are not whole tiles.
constexpr int kPackedSlot = 1;
constexpr int kWeightsSlot = 2;
constexpr int kPaddedOutputSlot = 3;

int64_t min_of(int64_t a, int64_t b) {
  return a < b ? a : b;
}

int64_t round_up(int64_t n, int64_t multiple) {
  return (n + multiple - 1) / multiple * multiple;
}

// The first n of 16 lanes (none for n <= 0, all for n >= 16).
__mmask16 first_lanes(int64_t n) {
  return static_cast<__mmask16>((1U << std::clamp<int64_t>(n, 0, 16)) - 1);
}

// ldtilecfg's operand: palette 1, every tile 16 rows x 64 bytes.
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t bytes_per_row[16] = {};
  uint8_t rows[16] = {};
};

// Configures all eight tiles for this thread and releases them on return.
class TileScope {
 public:
  TileScope() {
    TileConfig config;
    for (int t = 0; t < 8; ++t) {
      config.bytes_per_row[t] = 64;
      config.rows[t] = kTileRows;
    }
    _tile_loadconfig(&config);
  }
  TileScope(const TileScope&) = delete;
  TileScope& operator=(const TileScope&) = delete;
  ~TileScope() { _tile_release(); }
};

// Where an A tile's rows come from: `data` with `stride` bytes between rows.
struct TileSource {
  const void* data;
  int64_t stride;
};

// Rows [row, row + count) of w over all features, zero-padded to 16 rows x
// `padded_cols` features, into `out`.
TileSource padded_rows(const uint16_t* w, int64_t cols, int64_t row, int64_t count,
                       int64_t padded_cols, uint16_t* out) {
  for (int64_t r = 0; r < kTileRows; ++r) {
    uint16_t* dst = out + r * padded_cols;
    const int64_t copied = r < count ? cols : 0;
    if (copied > 0) std::memcpy(dst, w + (row + r) * cols, static_cast<size_t>(copied) * 2);
    std::memset(dst + copied, 0, static_cast<size_t>(padded_cols - copied) * 2);
  }
  return TileSource{out, padded_cols * 2};
}

// C tiles 0-3 = (A0, A1) x (B0, B1) over `steps` x 32 features, added into
// (or, for the first chunk of features, stored to) sums[row][token]; kA and
// kB say how many of each there are.
template <int kA, int kB>
void weights_by_tokens(TileSource a0, TileSource a1, const uint32_t* b0, const uint32_t* b1,
                       int64_t steps, float* sums, bool accumulate) {
  constexpr int64_t kStrideBytes = kSumsStride * 4;
  float* const c1 = sums + kTileRows;
  float* const c2 = sums + kTileRows * kSumsStride;
  float* const c3 = c2 + kTileRows;
  if (accumulate) {
    _tile_loadd(0, sums, kStrideBytes);
    if constexpr (kB > 1) _tile_loadd(1, c1, kStrideBytes);
    if constexpr (kA > 1) _tile_loadd(2, c2, kStrideBytes);
    if constexpr (kA > 1 && kB > 1) _tile_loadd(3, c3, kStrideBytes);
  } else {
    _tile_zero(0);
    if constexpr (kB > 1) _tile_zero(1);
    if constexpr (kA > 1) _tile_zero(2);
    if constexpr (kA > 1 && kB > 1) _tile_zero(3);
  }
  const auto* a0_bytes = static_cast<const uint8_t*>(a0.data);
  const auto* a1_bytes = static_cast<const uint8_t*>(a1.data);
  constexpr int64_t kBStride = kTileRows * 4;  // one row of packed pairs: 16 tokens
  for (int64_t s = 0; s < steps; ++s) {
    _tile_loadd(4, a0_bytes + s * kTilePairs * 4, a0.stride);
    if constexpr (kA > 1) _tile_loadd(5, a1_bytes + s * kTilePairs * 4, a1.stride);
    _tile_loadd(6, b0 + s * kTilePairs * kTileRows, kBStride);
    if constexpr (kB > 1) _tile_loadd(7, b1 + s * kTilePairs * kTileRows, kBStride);
    _tile_dpbf16ps(0, 4, 6);
    if constexpr (kB > 1) _tile_dpbf16ps(1, 4, 7);
    if constexpr (kA > 1) _tile_dpbf16ps(2, 5, 6);
    if constexpr (kA > 1 && kB > 1) _tile_dpbf16ps(3, 5, 7);
  }
  _tile_stored(0, sums, kStrideBytes);
  if constexpr (kB > 1) _tile_stored(1, c1, kStrideBytes);
  if constexpr (kA > 1) _tile_stored(2, c2, kStrideBytes);
  if constexpr (kA > 1 && kB > 1) _tile_stored(3, c3, kStrideBytes);
}

// Tokens [token, token + count) into groups of 16, [group][padded_pairs][16]
// words; the pairs past the features are zeros (they meet the zero-padded
// or past-the-end features of an A tile's last step).
void pack_groups(const float* x, int64_t cols, int64_t token, int64_t count, int64_t padded_pairs,
                 uint32_t* packed) {
  const int64_t pairs = (cols + 1) / 2;
  for (int64_t g = 0; g * kTileRows < count; ++g) {
    uint32_t* out = packed + g * padded_pairs * kTileRows;
    pack_bf16_pairs(x, cols, token + g * kTileRows, min_of(kTileRows, count - g * kTileRows),
                    kTileRows, out);
    std::memset(out + pairs * kTileRows, 0,
                static_cast<size_t>((padded_pairs - pairs) * kTileRows) * 4);
  }
}

// Rows [row_begin, row_end) (at most kRowBlock) against one packed block of
// tokens into sums[row][token], features in chunks of kChunkSteps steps:
// each chunk of the packed tokens (128 tokens x 2048 features = 512 KiB)
// stays in L2 while every row pair of the block passes it, and a row pair's
// chunk of weights (128 KiB) while every pair of token groups passes it.
void block_product(const uint16_t* w, int64_t cols, const uint32_t* packed, int64_t padded_pairs,
                   int64_t block_tokens, int64_t row_begin, int64_t row_end, float* sums) {
  const int64_t padded_cols = padded_pairs * 2;
  const int64_t steps = padded_pairs / kTilePairs;
  const int64_t groups = (block_tokens + kTileRows - 1) / kTileRows;
  const int64_t tiles = (row_end - row_begin + kTileRows - 1) / kTileRows;
  const bool whole_steps = cols == padded_cols;
  auto* padded = reinterpret_cast<uint16_t*>(
      thread_words(kWeightsSlot, kRowBlock * padded_cols / 2, kRowBlock * padded_cols / 2));
  // An A tile reads the matrix in place when all of its 16 x (steps x 32)
  // values are in it, else a zero-padded copy of its rows (made again for
  // each block of tokens: only odd shapes need it).
  TileSource sources[kRowBlock / kTileRows];
  for (int64_t tile = 0; tile < tiles; ++tile) {
    const int64_t n = row_begin + tile * kTileRows;
    const int64_t count = min_of(kTileRows, row_end - n);
    sources[tile] =
        count == kTileRows && whole_steps
            ? TileSource{w + n * cols, cols * 2}
            : padded_rows(w, cols, n, count, padded_cols, padded + tile * kTileRows * padded_cols);
  }
  for (int64_t s0 = 0; s0 < steps; s0 += kChunkSteps) {
    const int64_t chunk = min_of(kChunkSteps, steps - s0);
    const int64_t a_offset = s0 * kTilePairs * 4;          // bytes into an A tile's rows
    const int64_t b_offset = s0 * kTilePairs * kTileRows;  // words into a packed group
    const bool accumulate = s0 > 0;
    for (int64_t tile = 0; tile < tiles; tile += 2) {
      const bool two_a = tile + 1 < tiles;
      const TileSource a0{static_cast<const uint8_t*>(sources[tile].data) + a_offset,
                          sources[tile].stride};
      const TileSource a1 =
          two_a ? TileSource{static_cast<const uint8_t*>(sources[tile + 1].data) + a_offset,
                             sources[tile + 1].stride}
                : a0;
      for (int64_t g = 0; g < groups; g += 2) {
        const uint32_t* b0 = packed + g * padded_pairs * kTileRows + b_offset;
        const uint32_t* b1 = b0 + padded_pairs * kTileRows;
        float* out = sums + tile * kTileRows * kSumsStride + g * kTileRows;
        const bool two_b = g + 1 < groups;
        if (two_a && two_b) {
          weights_by_tokens<2, 2>(a0, a1, b0, b1, chunk, out, accumulate);
        } else if (two_a) {
          weights_by_tokens<2, 1>(a0, a1, b0, b0, chunk, out, accumulate);
        } else if (two_b) {
          weights_by_tokens<1, 2>(a0, a0, b0, b1, chunk, out, accumulate);
        } else {
          weights_by_tokens<1, 1>(a0, a0, b0, b0, chunk, out, accumulate);
        }
      }
    }
  }
}

// ---- tokens as A tiles ------------------------------------------------------

// Tokens [first, first + count) of x ([*, cols] f32) rounded to BF16 (nearest
// even) into rows `stride` values apart, zero past cols up to padded_cols;
// rows from count up to the next multiple of 16 are zeros.
void pack_token_rows(const float* x, int64_t cols, int64_t first, int64_t count,
                     int64_t padded_cols, int64_t stride, uint16_t* out) {
  for (int64_t t = 0; t < round_up(count, kTileRows); ++t) {
    uint16_t* dst = out + t * stride;
    if (t >= count) {
      std::memset(dst, 0, static_cast<size_t>(padded_cols) * 2);
      continue;
    }
    const float* src = x + (first + t) * cols;
    for (int64_t k = 0; k < padded_cols; k += kStepFeatures) {
      const __mmask16 low = first_lanes(cols - k);
      const __mmask16 high = first_lanes(cols - k - 16);
      const __m512 lo = _mm512_maskz_loadu_ps(low, src + k);
      const __m512 hi = _mm512_maskz_loadu_ps(high, src + k + 16);
      _mm512_storeu_si512(dst + k, reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo)));
    }
  }
}

// The B tile of outputs [row, row + count) (count <= 16) and features
// [32 s, 32 s + 32): out[p * 16 + n] = features 32 s + 2p and 32 s + 2p + 1
// of row + n as one 32-bit pair (the low half first); zeros past the matrix.
void weight_tile(const uint16_t* w, int64_t cols, int64_t row, int64_t count, int64_t s,
                 uint32_t* out) {
  const int64_t first = s * kStepFeatures;
  if (count == kTileRows && cols % 2 == 0 && first + kStepFeatures <= cols) {
    transpose_words_to(reinterpret_cast<const uint32_t*>(w + row * cols + first), cols / 2,
                       kTileRows, kTileRows, out, kTileRows);
    return;
  }
  for (int64_t p = 0; p < kTileRows; ++p) {
    const int64_t f = first + 2 * p;
    for (int64_t n = 0; n < kTileRows; ++n) {
      const uint16_t* src = w + (row + n) * cols;
      const uint32_t lo = n < count && f < cols ? src[f] : 0;
      const uint32_t hi = n < count && f + 1 < cols ? src[f + 1] : 0;
      out[p * kTileRows + n] = lo | hi << 16;
    }
  }
}

// C tiles 0-3 = (A0, A1) x (B0, B1) over `steps` steps, added to (or, for a
// call's first chunk, stored to) the 16 x 16 blocks of c at c0..c3, rows
// `c_stride` floats apart; kA and kB say how many of each there are.
template <int kA, int kB>
void tokens_by_weights(const uint16_t* a0, const uint16_t* a1, int64_t a_stride, const uint32_t* b0,
                       const uint32_t* b1, int64_t steps, float* c, int64_t c_stride,
                       bool accumulate) {
  const int64_t c_bytes = c_stride * 4;
  float* const c1 = c + kTileRows;
  float* const c2 = c + kTileRows * c_stride;
  float* const c3 = c2 + kTileRows;
  if (accumulate) {
    _tile_loadd(0, c, c_bytes);
    if constexpr (kB > 1) _tile_loadd(1, c1, c_bytes);
    if constexpr (kA > 1) _tile_loadd(2, c2, c_bytes);
    if constexpr (kA > 1 && kB > 1) _tile_loadd(3, c3, c_bytes);
  } else {
    _tile_zero(0);
    if constexpr (kB > 1) _tile_zero(1);
    if constexpr (kA > 1) _tile_zero(2);
    if constexpr (kA > 1 && kB > 1) _tile_zero(3);
  }
  const int64_t a_bytes = a_stride * 2;
  for (int64_t s = 0; s < steps; ++s) {
    _tile_loadd(4, a0 + s * kStepFeatures, a_bytes);
    if constexpr (kA > 1) _tile_loadd(5, a1 + s * kStepFeatures, a_bytes);
    _tile_loadd(6, b0 + s * kTileWords, 64);
    if constexpr (kB > 1) _tile_loadd(7, b1 + s * kTileWords, 64);
    _tile_dpbf16ps(0, 4, 6);
    if constexpr (kB > 1) _tile_dpbf16ps(1, 4, 7);
    if constexpr (kA > 1) _tile_dpbf16ps(2, 5, 6);
    if constexpr (kA > 1 && kB > 1) _tile_dpbf16ps(3, 5, 7);
  }
  _tile_stored(0, c, c_bytes);
  if constexpr (kB > 1) _tile_stored(1, c1, c_bytes);
  if constexpr (kA > 1) _tile_stored(2, c2, c_bytes);
  if constexpr (kA > 1 && kB > 1) _tile_stored(3, c3, c_bytes);
}

// Weights as A tiles read in place, the tokens packed as pairs: the path
// below kTokensAsAMinTokens.
void weights_as_a(const Weight& w, const float* x, int64_t token_begin, int64_t token_end,
                  int64_t row_begin, int64_t row_end, float* y, int64_t ldy, bool reuse_packed_x) {
  const auto* weights = static_cast<const uint16_t*>(w.data);
  const int64_t cols = w.cols;
  const int64_t pairs = (cols + 1) / 2;
  const int64_t padded_pairs = (pairs + kTilePairs - 1) / kTilePairs * kTilePairs;
  const int64_t tokens = token_end - token_begin;
  const int64_t groups = (tokens + kTileRows - 1) / kTileRows;
  const int64_t max_groups = std::max(groups, (kAmxBlockTokens + kTileRows - 1) / kTileRows);
  uint32_t* packed = thread_words(kPackedSlot, groups * padded_pairs * kTileRows,
                                  max_groups * padded_pairs * kTileRows);
  if (!reuse_packed_x) pack_groups(x, cols, token_begin, tokens, padded_pairs, packed);
  const TileScope tiles;
  // [kRowBlock][kSumsStride]: the transposed partial sums of a row block.
  alignas(64) float sums[kRowBlock * kSumsStride];
  // Token blocks inner: a row block's weights (at most 192 rows x 2048
  // features x 2 B = 768 KiB) stay in L2 for all of them.
  for (int64_t nb = row_begin; nb < row_end; nb += kRowBlock) {
    const int64_t rows = min_of(kRowBlock, row_end - nb);
    for (int64_t tb = 0; tb < tokens; tb += kTokenBlock) {
      const int64_t block_tokens = min_of(kTokenBlock, tokens - tb);
      block_product(weights, cols, packed + tb * padded_pairs, padded_pairs, block_tokens, nb,
                    nb + rows, sums);
      transpose_words_to(reinterpret_cast<const uint32_t*>(sums), kSumsStride, rows, block_tokens,
                         reinterpret_cast<uint32_t*>(y + (token_begin + tb) * ldy + nb), ldy);
    }
  }
}

// Tokens as A tiles, the weights repacked as B tiles: the path from
// kTokensAsAMinTokens on.
void tokens_as_a(const Weight& w, const float* x, int64_t token_begin, int64_t token_end,
                 int64_t row_begin, int64_t row_end, float* y, int64_t ldy, bool reuse_packed_x) {
  const auto* weights = static_cast<const uint16_t*>(w.data);
  const int64_t cols = w.cols;
  const int64_t rows = row_end - row_begin;
  const int64_t tokens = token_end - token_begin;
  LM_CHECK_LE(rows, kRowBlock);
  const int64_t steps = (cols + kStepFeatures - 1) / kStepFeatures;
  const int64_t padded_cols = steps * kStepFeatures;
  const int64_t stride = padded_cols + kRowPadding;
  const int64_t groups = (tokens + kTileRows - 1) / kTileRows;
  const int64_t tiles = (rows + kTileRows - 1) / kTileRows;
  const int64_t max_groups = std::max(groups, (kAmxBlockTokens + kTileRows - 1) / kTileRows);
  auto* packed = reinterpret_cast<uint16_t*>(thread_words(
      kPackedSlot, groups * kTileRows * stride / 2, max_groups * kTileRows * stride / 2));
  if (!reuse_packed_x) pack_token_rows(x, cols, token_begin, tokens, padded_cols, stride, packed);
  const int64_t chunks = (steps + kMaxChunkSteps - 1) / kMaxChunkSteps;
  const int64_t chunk_steps = (steps + chunks - 1) / chunks;
  const int64_t tile_words = kRowBlock / kTileRows * chunk_steps * kTileWords;
  uint32_t* weight_tiles = thread_words(kWeightsSlot, tile_words, tile_words);
  // A call whose tokens or rows are not whole tiles sums into a padded
  // output and copies its part to y at the end.
  const bool whole = tokens % kTileRows == 0 && rows % kTileRows == 0;
  const int64_t c_stride = whole ? ldy : tiles * kTileRows;
  float* c = y + token_begin * ldy + row_begin;
  if (!whole) {
    const int64_t words = groups * kTileRows * c_stride;
    const int64_t reserve = max_groups * kTileRows * kRowBlock;
    c = reinterpret_cast<float*>(thread_words(kPaddedOutputSlot, words, std::max(words, reserve)));
  }
  const TileScope tile_scope;
  for (int64_t s0 = 0; s0 < steps; s0 += chunk_steps) {
    const int64_t chunk = min_of(chunk_steps, steps - s0);
    // [tile][step][16 pairs][16 outputs]
    for (int64_t t = 0; t < tiles; ++t) {
      const int64_t row = row_begin + t * kTileRows;
      for (int64_t s = 0; s < chunk; ++s) {
        weight_tile(weights, cols, row, min_of(kTileRows, row_end - row), s0 + s,
                    weight_tiles + (t * chunk + s) * kTileWords);
      }
    }
    const bool accumulate = s0 > 0;
    for (int64_t g = 0; g < groups; g += 2) {
      const uint16_t* a0 = packed + g * kTileRows * stride + s0 * kStepFeatures;
      const uint16_t* a1 = a0 + kTileRows * stride;
      const bool two_a = g + 1 < groups;
      for (int64_t t = 0; t < tiles; t += 2) {
        const uint32_t* b0 = weight_tiles + t * chunk * kTileWords;
        const uint32_t* b1 = b0 + chunk * kTileWords;
        float* out = c + g * kTileRows * c_stride + t * kTileRows;
        const bool two_b = t + 1 < tiles;
        if (two_a && two_b) {
          tokens_by_weights<2, 2>(a0, a1, stride, b0, b1, chunk, out, c_stride, accumulate);
        } else if (two_a) {
          tokens_by_weights<2, 1>(a0, a1, stride, b0, b0, chunk, out, c_stride, accumulate);
        } else if (two_b) {
          tokens_by_weights<1, 2>(a0, a0, stride, b0, b1, chunk, out, c_stride, accumulate);
        } else {
          tokens_by_weights<1, 1>(a0, a0, stride, b0, b0, chunk, out, c_stride, accumulate);
        }
      }
    }
  }
  if (!whole) {
    for (int64_t t = 0; t < tokens; ++t) {
      std::memcpy(y + (token_begin + t) * ldy + row_begin, c + t * c_stride,
                  static_cast<size_t>(rows) * 4);
    }
  }
}

}  // namespace

void gemm_bf16_amx(const Weight& w, const float* x, int64_t token_begin, int64_t token_end,
                   int64_t row_begin, int64_t row_end, float* y, int64_t ldy, bool reuse_packed_x) {
  // The choice depends on the token count only, so a call that reuses the
  // previous call's packing (the same token block) takes the same path.
  if (token_end - token_begin >= kTokensAsAMinTokens) {
    tokens_as_a(w, x, token_begin, token_end, row_begin, row_end, y, ldy, reuse_packed_x);
  } else {
    weights_as_a(w, x, token_begin, token_end, row_begin, row_end, y, ldy, reuse_packed_x);
  }
}

double amx_bf16_peak_probe(int64_t iterations) {
  alignas(64) uint16_t operand[kTileRows * kStepFeatures];
  for (uint16_t& v : operand) v = 0x3c00;  // bf16 2^-7
  const TileScope tiles;
  _tile_loadd(4, operand, 64);
  _tile_loadd(5, operand, 64);
  _tile_loadd(6, operand, 64);
  _tile_loadd(7, operand, 64);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  for (int64_t i = 0; i < iterations; ++i) {
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  alignas(64) float sink[kTileRows * kTileRows];
  _tile_stored(0, sink, 64);
  volatile float keep = sink[0];
  (void)keep;
  return 4.0 * 2.0 * kTileRows * kTileRows * kStepFeatures * static_cast<double>(iterations);
}

}  // namespace localmoe::kernels
