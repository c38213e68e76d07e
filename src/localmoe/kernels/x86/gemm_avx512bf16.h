#pragma once
// Internal to kernels/: products of BF16 weights with many tokens on the
// AVX512-BF16 dot product (vdpbf16ps), the matmul_block[kBF16] entry of the
// *_BF16 variants. Activations are rounded to BF16 (nearest even) once, when
// a block of tokens is packed; each product of two BF16 values is exact in
// f32 and the sums are f32. Call these only where cpu_features() reports
// avx512bf16, avx512bw and avx512vl: their translation unit is compiled for
// those extensions.

#include <cstdint>

#include "localmoe/kernels/weight.h"

namespace localmoe::kernels {

// The most tokens of one call it is made for: its token block, whose packed
// tokens stay in L2.
inline constexpr int64_t kBf16DotBlockTokens = 128;

// A MatmulBlockFn for BF16 weights (kernel_table.h says what it computes).
void gemm_bf16_dot(const Weight& w, const float* x, int64_t token_begin, int64_t token_end,
                   int64_t row_begin, int64_t row_end, float* y, int64_t ldy, bool reuse_packed_x);

// Tokens [first, first + count) of x ([*, cols] f32) rounded to BF16 and
// packed as pairs of features, the operand layout of the BF16 dot products:
// out[j * width + t] = (bf16 x[first + t, 2j]) | (bf16 x[first + t, 2j + 1]) << 16
// for j < ceil(cols / 2), t < width (16 or 32); missing tokens and an odd
// last feature's partner are zeros. `out` is 64-byte aligned.
void pack_bf16_pairs(const float* x, int64_t cols, int64_t first, int64_t count, int64_t width,
                     uint32_t* out);

// out[c * out_stride + r] = in[r * in_stride + c] for r < rows, c < cols:
// 32-bit values (the GEMMs' transposed partial sums into y), 16 x 16 at a
// time.
void transpose_words_to(const uint32_t* in, int64_t in_stride, int64_t rows, int64_t cols,
                        uint32_t* out, int64_t out_stride);

// A per-thread buffer of at least `count` 32-bit words, 64-byte aligned,
// kept for the thread's life; `slot` keeps a caller's buffers apart (0: the
// dot product's packed tokens, 1 to 3: AMX's). When it has to grow it grows
// to `reserve` (>= count), the most this caller can ask for at this shape,
// so that token counts varying from step to step (batched decode, MoE
// experts) never reallocate once a thread has seen each matrix width.
inline constexpr int kThreadBufferSlots = 4;
uint32_t* thread_words(int slot, int64_t count, int64_t reserve);

// Independent vdpbf16ps chains in registers on the calling thread; returns
// the FLOPs performed (4 per lane: two multiply-adds).
double bf16_dot_peak_probe(int64_t iterations);

}  // namespace localmoe::kernels
