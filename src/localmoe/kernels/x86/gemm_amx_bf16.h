#pragma once
// Internal to kernels/: products of BF16 weights with many tokens on AMX
// tiles (tdpbf16ps), the matmul_block[kBF16] entry of the *_AMX variants.
// Activations are rounded to BF16 (nearest even) once, when a block of
// tokens is packed, as for the AVX512-BF16 dot product; products are summed
// in f32. Call these only where cpu_features() reports amx_bf16 and
// amx_permitted besides the dot product's extensions: their translation
// unit is compiled for AMX and AVX-512.

#include <cstdint>

#include "localmoe/kernels/weight.h"

namespace localmoe::kernels {

// From this many tokens on it serves BF16 products; one token stays on
// decode's stream. On TinyLlama's matrices it took 0.89-0.99x the exact
// stream's time at 2 tokens, 0.71-0.89x at 3, 0.61-0.83x at 4, 0.36-0.55x
// at 7: the tiles are never the limit there, the weight stream is.
inline constexpr int64_t kAmxMinTokens = 2;

// The tokens of one call it is made for: each weight is read from memory
// once per call (gemm_amx_bf16.cpp has the measurements).
inline constexpr int64_t kAmxBlockTokens = 512;

// From this many tokens of a call on, tokens are the A tiles and the weights
// are repacked as B tiles; below it the weights are A tiles read in place
// (gemm_amx_bf16.cpp measures both).
inline constexpr int64_t kTokensAsAMinTokens = 256;

// A MatmulBlockFn for BF16 weights (kernel_table.h says what it computes).
void gemm_bf16_amx(const Weight& w, const float* x, int64_t token_begin, int64_t token_end,
                   int64_t row_begin, int64_t row_end, float* y, int64_t ldy, bool reuse_packed_x);

// Independent tdpbf16ps chains on tiles on the calling thread; returns the
// FLOPs performed (16 x 16 x 32 multiply-adds per instruction).
double amx_bf16_peak_probe(int64_t iterations);

}  // namespace localmoe::kernels
