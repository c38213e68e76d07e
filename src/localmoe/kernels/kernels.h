#pragma once
// The only API above kernels/: everything a layer computes goes through a
// Kernels object, the dispatch table of one variant (the generic scalar
// reference or a Highway SIMD target) chosen once at start-up and passed down
// by const reference. There is no process-wide table: two engines, a test
// and its reference can each run their own variant in one process. Layers
// never see an intrinsic or an ISA branch.
//
// Conventions: a weight matrix is [out_features, in_features] row-major
// (Hugging Face nn.Linear layout); activations are f32 [tokens, features]
// row-major.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "localmoe/base/error.h"
#include "localmoe/base/tensor.h"
#include "localmoe/base/thread_pool.h"
#include "localmoe/kernels/kernel_table.h"
#include "localmoe/kernels/paged_attention.h"
#include "localmoe/kernels/weight.h"

namespace localmoe::kernels {

// Several matrices applied to the same x in one parallel region (q/k/v,
// gate/up): one fork-join instead of several, which matters at decode.
struct MatmulTarget {
  const Weight* w;
  float* y;  // [num_tokens, ldy]
  int64_t ldy;
};

class Kernels {
 public:
  // Names of the variants this CPU can run, best first; "generic" is last.
  // Every Highway target also comes as "<TARGET>_PREFETCH" (decode's weight
  // stream prefetched in software; kernels.cpp says where that pays). On a
  // CPU with AVX512-BF16, AVX3 also comes as "AVX3_BF16" (its BF16 GEMM on
  // the vdpbf16ps dot product) and with AMX as "AVX3_AMX" (on tdpbf16ps
  // tiles), each with a _PREFETCH twin; *_AMX come first, *_BF16 after
  // AVX3's. Their products of BF16 weights with 8 tokens and more (*_AMX: 2
  // and more) round the activations to BF16 (matmul_rounds_x_to_bf16); one
  // token is never rounded. Every other variant and
  // product keeps x in f32, the same arithmetic as the reference up to the
  // order of additions: select "AVX3" or "AVX3_PREFETCH" for exact ones.
  static std::vector<std::string> available();
  // "best" = the first available. Throws Error(kInvalidArgument) naming the
  // available ones for a name this CPU cannot run.
  static Kernels select(std::string_view name);

  const std::string& name() const { return name_; }

  // ---- matrix products -------------------------------------------------------

  // y[t, n] = sum_k x[t, k] * w[n, k] for t < num_tokens, n < w.rows.
  // x: [num_tokens, w.cols], y: [num_tokens, ldy] (ldy >= w.rows).
  void matmul(const Weight& w, const float* x, int64_t num_tokens, float* y, int64_t ldy,
              ThreadPool& pool) const;
  void matmul_many(std::span<const MatmulTarget> targets, const float* x, int64_t num_tokens,
                   ThreadPool& pool) const;
  // Whether matmul of num_tokens tokens with a weight of `format` rounds x
  // to BF16 (nearest even) before multiplying, adding up to 2^-8 sum_k
  // |x_k w_k| to each output's error; its sums are f32 either way.
  bool matmul_rounds_x_to_bf16(WeightFormat format, int64_t num_tokens) const;
  // y[t, :dim] += bias for every token row.
  void add_bias(const float* bias, int64_t num_tokens, int64_t dim, int64_t ldy, float* y) const;

  // ---- normalization ---------------------------------------------------------

  // out = x / sqrt(mean(x^2) + eps) * weight, row by row.
  void rms_norm(const float* x, const float* weight, float eps, int64_t rows, int64_t dim,
                float* out) const;
  // out = (x - mean) / sqrt(var + eps) * weight + bias, row by row.
  void layer_norm(const float* x, const float* weight, const float* bias, float eps, int64_t rows,
                  int64_t dim, float* out) const;

  // ---- element-wise ----------------------------------------------------------

  // out = silu(gate) * up (SwiGLU's gating).
  void silu_mul(const float* gate, const float* up, int64_t n, float* out) const {
    table_.silu_mul(gate, up, n, out);
  }
  // out = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (GPT-2 "gelu_new").
  void gelu_tanh(const float* x, int64_t n, float* out) const { table_.gelu_tanh(x, n, out); }
  void add(const float* x, int64_t n, float* y) const { table_.axpy(1.0f, x, n, y); }
  void axpy(float a, const float* x, int64_t n, float* y) const { table_.axpy(a, x, n, y); }
  // The sum of n values. Streaming it over an array far larger than the
  // caches is also how benchmarks measure the machine's read bandwidth.
  float sum(const float* x, int64_t n) const { return table_.sum(x, n); }

  // ---- embeddings, positions and the KV cache --------------------------------

  // out[t, :] = table[ids[t], :] as f32; ids must be < table.rows().
  void embedding(const TensorView& table, const int32_t* ids, int64_t num_tokens, float* out) const;
  // Rotary embedding in Hugging Face's rotate_half convention, in place on
  // x: [num_tokens, num_heads, head_dim]. inv_freq: [head_dim / 2]; angle =
  // positions[t] * position_scale * inv_freq[i], taken in double (linear RoPE
  // scaling is position_scale = 1 / factor).
  void rope(float* x, const int32_t* positions, int64_t num_tokens, int64_t num_heads,
            int64_t head_dim, const double* inv_freq, double position_scale) const;
  // Writes each token's keys and values ([num_tokens, num_kv_heads * head_dim]
  // f32) into its cache slot (slot = block * block_size + offset), rounded to
  // the cache's dtype.
  void store_kv(const PagedKvLayer& kv, const float* keys, const float* values,
                const int64_t* slot_mapping, int64_t num_tokens) const;
  // Causal attention of every query token of `args` over its sequence's
  // cached keys; K/V heads are read once per group of query heads that share
  // them. scratch: [pool.num_threads(), scratch_stride] with scratch_stride
  // >= paged_attention_scratch_floats(...).
  void paged_attention(const PagedAttentionArgs& args, float* scratch, int64_t scratch_stride,
                       ThreadPool& pool) const;

  // ---- sampling helpers ------------------------------------------------------

  // In-place softmax over n values; returns the log of the normalizer
  // (max + log(sum exp(x - max))), which log-probabilities need.
  float softmax(float* x, int64_t n) const { return table_.softmax(x, n); }
  // Index of the largest value (the first one on ties).
  int64_t argmax(const float* x, int64_t n) const;

  // ---- hardware limits -------------------------------------------------------

  // Runs `iterations` rounds of independent register-resident fused
  // multiply-adds on the calling thread and returns the floating-point
  // operations done (2 per lane per FMA): timing it gives the peak FLOP/s
  // that prefill benchmarks are measured against.
  double fma_peak_probe(int64_t iterations) const { return table_.fma_peak_probe(iterations); }
  // Whether the variant's BF16 GEMM multiplies with a BF16 instruction
  // (vdpbf16ps, AMX's tdpbf16ps) instead of the f32 FMA, and that
  // instruction's peak, measured as fma_peak_probe measures the FMA's.
  bool has_bf16_gemm_probe() const { return table_.bf16_gemm_peak_probe != nullptr; }
  double bf16_gemm_peak_probe(int64_t iterations) const {
    LM_CHECK(has_bf16_gemm_probe());
    return table_.bf16_gemm_peak_probe(iterations);
  }

 private:
  Kernels(KernelTable table, std::string name) : table_(table), name_(std::move(name)) {}

  KernelTable table_;
  std::string name_;
};

}  // namespace localmoe::kernels
