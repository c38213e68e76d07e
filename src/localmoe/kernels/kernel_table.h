#pragma once
// Internal to kernels/: the per-variant entry points. Each works on a slice
// (rows of a matrix, one vector, one attention work item) on the calling
// thread; kernels.cpp and matmul.cpp split work across the pool, so threading
// is written once for all variants.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "localmoe/base/dtype.h"
#include "localmoe/kernels/paged_attention.h"
#include "localmoe/kernels/weight.h"

namespace localmoe::kernels {

// y[t * ldy + n] = dot(x[t, :], w[n, :]) for n in [row_begin, row_end).
using MatmulRowsFn = void (*)(const Weight& w, const float* x, int64_t num_tokens,
                              int64_t row_begin, int64_t row_end, float* y, int64_t ldy);
// The same for t in [token_begin, token_end) only: one block of a product
// over many tokens, cache-blocked so each weight is read once per block.
// The variant packs x's tokens into a per-thread buffer; reuse_packed_x
// says the previous call on this thread packed the same x, tokens and cols
// (another row range or another weight of the same matmul_many), so it can
// skip that.
using MatmulBlockFn = void (*)(const Weight& w, const float* x, int64_t token_begin,
                               int64_t token_end, int64_t row_begin, int64_t row_end, float* y,
                               int64_t ldy, bool reuse_packed_x);

// Where a GEMM takes over from the streaming product by default. On Zen 3
// with AVX2, a 2048 x 2048 BF16 product took: 2 tokens 0.52 ms streaming
// against 1.6 ms in the f32 GEMM, 4 tokens 0.95 / 1.7, 8 tokens 2.2 / 1.8,
// 16 tokens 4.2 / 2.2 (one thread, weights in L3).
inline constexpr int64_t kGemmMinTokens = 8;

struct KernelTable {
  std::string_view name;
  // One entry per WeightFormat, indexed by its value. matmul_rows serves
  // batch-1 decode (a streaming matrix-vector product); matmul_block serves
  // two tokens and more, and is all null in a variant without a GEMM (the
  // scalar reference), whose matmul_rows then serves every token count.
  std::array<MatmulRowsFn, kNumWeightFormats> matmul_rows;
  std::array<MatmulBlockFn, kNumWeightFormats> matmul_block{};
  // From this many tokens on, matmul_block serves the format; below,
  // matmul_rows (decode's stream, up to four tokens per pass).
  std::array<int64_t, kNumWeightFormats> matmul_block_min_tokens = {kGemmMinTokens, kGemmMinTokens,
                                                                    kGemmMinTokens};
  // The most tokens of one matmul_block call (a work item): the f32 GEMMs'
  // token block, whose packed tokens stay in L2; AMX's reads each weight
  // from memory once per call, so it takes more.
  std::array<int64_t, kNumWeightFormats> matmul_block_tokens = {128, 128, 128};
  // matmul_block rounds x to BF16 for this format (the BF16 GEMMs of the
  // *_BF16 and *_AMX variants). matmul_rows never rounds x.
  std::array<bool, kNumWeightFormats> matmul_block_rounds_x_to_bf16{};
  void (*rms_norm_row)(const float* x, const float* weight, float eps, int64_t dim, float* out);
  void (*layer_norm_row)(const float* x, const float* weight, const float* bias, float eps,
                         int64_t dim, float* out);
  void (*silu_mul)(const float* gate, const float* up, int64_t n, float* out);
  void (*gelu_tanh)(const float* x, int64_t n, float* out);
  float (*dot)(const float* a, const float* b, int64_t n);
  // y += a * x
  void (*axpy)(float a, const float* x, int64_t n, float* y);
  float (*sum)(const float* x, int64_t n);
  // n elements of `dtype` (F32, F16, BF16) widened to f32.
  void (*to_f32)(const void* src, DType dtype, int64_t n, float* out);
  // n f32 values rounded to nearest even in `dtype` (F32, F16, BF16).
  void (*from_f32)(const float* src, int64_t n, DType dtype, void* out);
  // rotate_half RoPE of num_heads vectors [num_heads, head_dim] in place with
  // one position's cos / sin [head_dim / 2].
  void (*rope_heads)(float* x, int64_t num_heads, int64_t head_dim, const float* cos,
                     const float* sin);
  // In-place softmax; returns log of the normalizer.
  float (*softmax)(float* x, int64_t n);
  int64_t (*argmax)(const float* x, int64_t n);
  // Query tokens [q_begin, q_end) of sequence `seq` (all of them belong to
  // it, positions increasing) against KV head `kv_head`, for every query
  // head of its group. scratch: paged_attention_scratch_floats() floats.
  void (*paged_attention)(const PagedAttentionArgs& args, int64_t seq, int64_t kv_head,
                          int64_t q_begin, int64_t q_end, float* scratch);
  // Independent FMA chains in registers; returns the FLOPs performed.
  double (*fma_peak_probe)(int64_t iterations);
  // The same with the instruction its BF16 GEMM multiplies with (vdpbf16ps,
  // tdpbf16ps); null where that GEMM uses the f32 FMA.
  double (*bf16_gemm_peak_probe)(int64_t iterations) = nullptr;
};

// The scalar reference, correct everywhere.
const KernelTable& generic_kernels();

// Highway targets compiled in and supported by this CPU, best first
// (HWY_* target bits).
std::vector<int64_t> highway_targets();
// The table of one Highway target; `prefetching` selects decode's matrix-
// vector products that prefetch their weight stream in software.
KernelTable highway_kernels(int64_t target, bool prefetching);

}  // namespace localmoe::kernels
