#pragma once
// The only API above kernels/: everything a layer computes goes through
// these functions. Activations are f32; weight matrices are used in their
// stored dtype (F32, F16, BF16) with f32 accumulation. The variant (generic
// scalar or a SIMD target) is chosen once at start-up; layers never see an
// intrinsic or an ISA branch.
//
// Conventions: a weight matrix is [out_features, in_features] row-major
// (Hugging Face nn.Linear layout); activations are [tokens, features]
// row-major.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "localmoe/base/tensor.h"
#include "localmoe/base/thread_pool.h"

namespace localmoe::kernels {

// ---- variant selection -------------------------------------------------------

// Names of the variants this CPU can run, best first; "generic" is always last.
std::vector<std::string> available_variants();
// Selects a variant by name ("best" = the first available). Throws
// Error(kInvalidArgument) for a name that is not available here.
void select_variant(std::string_view name);
// The variant in use.
std::string_view current_variant();

// ---- matrix products ---------------------------------------------------------

// y[t, n] = sum_k x[t, k] * w[n, k] for t < num_tokens, n < w.rows().
// x: [num_tokens, w.cols()], y: [num_tokens, ldy] (ldy >= w.rows()).
void matmul(const TensorView& w, const float* x, int64_t num_tokens, float* y, int64_t ldy,
            ThreadPool& pool);

// Several matrices applied to the same x in one parallel region (q/k/v,
// gate/up): one fork-join instead of several, which matters at decode.
struct MatmulTarget {
  const TensorView* w;
  float* y;  // [num_tokens, ldy]
  int64_t ldy;
};
void matmul_many(std::span<const MatmulTarget> targets, const float* x, int64_t num_tokens,
                 ThreadPool& pool);

// y[t, :] += bias for every token row.
void add_bias(const float* bias, int64_t num_tokens, int64_t dim, int64_t ldy, float* y);

// ---- normalization -----------------------------------------------------------

// out = x / sqrt(mean(x^2) + eps) * weight, row by row.
void rms_norm(const float* x, const float* weight, float eps, int64_t rows, int64_t dim,
              float* out);
// out = (x - mean) / sqrt(var + eps) * weight + bias, row by row.
void layer_norm(const float* x, const float* weight, const float* bias, float eps, int64_t rows,
                int64_t dim, float* out);

// ---- element-wise ------------------------------------------------------------

// out = silu(gate) * up (SwiGLU's gating).
void silu_mul(const float* gate, const float* up, int64_t n, float* out);
// out = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (GPT-2 "gelu_new").
void gelu_tanh(const float* x, int64_t n, float* out);
// y += x
void add(const float* x, int64_t n, float* y);
// y += a * x
void axpy(float a, const float* x, int64_t n, float* y);
// The sum of n values. Streaming it over an array far larger than the caches
// is also how benchmarks measure the machine's read bandwidth.
float sum(const float* x, int64_t n);

// ---- embeddings and positions ------------------------------------------------

// out[t, :] = table[ids[t], :] as f32. ids must be < table.rows().
void embedding(const TensorView& table, const int32_t* ids, int64_t num_tokens, float* out);

// Rotary embedding in Hugging Face's rotate_half convention, in place on
// x: [num_tokens, num_heads, head_dim]. inv_freq: [head_dim / 2];
// angle = positions[t] * position_scale * inv_freq[i] (linear RoPE scaling
// is position_scale = 1 / factor).
void rope(float* x, const int32_t* positions, int64_t num_tokens, int64_t num_heads,
          int64_t head_dim, const double* inv_freq, double position_scale);

// ---- attention ---------------------------------------------------------------

// Causal grouped-query attention of new queries over a contiguous KV cache.
struct AttentionArgs {
  const float* q;            // [num_tokens, num_heads, head_dim]
  const float* k_cache;      // [>= kv_len, num_kv_heads, head_dim]
  const float* v_cache;      // [>= kv_len, num_kv_heads, head_dim]
  const int32_t* positions;  // [num_tokens]: each query's position; keys 0..positions[t]
  int64_t num_tokens;
  int64_t num_heads;
  int64_t num_kv_heads;
  int64_t head_dim;
  int64_t sliding_window;  // 0: none; else keys j with position - j < sliding_window
  float scale;             // usually 1 / sqrt(head_dim)
  float* out;              // [num_tokens, num_heads, head_dim]
  float* scratch;          // [pool.num_threads(), scratch_stride] scores
  int64_t scratch_stride;  // > every position
};
void attention(const AttentionArgs& args, ThreadPool& pool);

// ---- hardware limits ---------------------------------------------------------

// Runs `iterations` rounds of independent register-resident fused
// multiply-adds on the calling thread and returns the floating-point
// operations done (2 per lane per FMA): timing it gives the peak FLOP/s
// that prefill benchmarks are measured against.
double fma_peak_probe(int64_t iterations);

// ---- sampling helpers --------------------------------------------------------

// In-place softmax over n values; returns the log of the normalizer
// (max + log(sum exp(x - max))), which log-probabilities need.
float softmax(float* x, int64_t n);
// Index of the largest value (the first one on ties).
int64_t argmax(const float* x, int64_t n);

}  // namespace localmoe::kernels
