// The scalar reference of every kernel: the definition the SIMD variants
// are tested against, and the fallback on CPUs without a SIMD target.

#include <algorithm>
#include <cmath>
#include <limits>

#include "localmoe/base/error.h"
#include "localmoe/kernels/kernel_table.h"

namespace localmoe::kernels {
namespace {

template <typename LoadWeight>
void matmul_rows_impl(LoadWeight load, int64_t cols, const float* x, int64_t num_tokens,
                      int64_t row_begin, int64_t row_end, float* y, int64_t ldy) {
  for (int64_t t = 0; t < num_tokens; ++t) {
    const float* xt = x + t * cols;
    for (int64_t n = row_begin; n < row_end; ++n) {
      float acc = 0.0f;
      for (int64_t k = 0; k < cols; ++k) acc += load(n * cols + k) * xt[k];
      y[t * ldy + n] = acc;
    }
  }
}

template <typename LoadWeight>
void matmul_rows_with(LoadWeight load, const Weight& w, const float* x, int64_t num_tokens,
                      int64_t row_begin, int64_t row_end, float* y, int64_t ldy) {
  matmul_rows_impl(load, w.cols, x, num_tokens, row_begin, row_end, y, ldy);
}

void matmul_rows_f32(const Weight& w, const float* x, int64_t num_tokens, int64_t row_begin,
                     int64_t row_end, float* y, int64_t ldy) {
  const auto* p = static_cast<const float*>(w.data);
  matmul_rows_with([p](int64_t i) { return p[i]; }, w, x, num_tokens, row_begin, row_end, y, ldy);
}

void matmul_rows_bf16(const Weight& w, const float* x, int64_t num_tokens, int64_t row_begin,
                      int64_t row_end, float* y, int64_t ldy) {
  const auto* p = static_cast<const uint16_t*>(w.data);
  matmul_rows_with([p](int64_t i) { return bf16_to_f32(p[i]); }, w, x, num_tokens, row_begin,
                   row_end, y, ldy);
}

void matmul_rows_f16(const Weight& w, const float* x, int64_t num_tokens, int64_t row_begin,
                     int64_t row_end, float* y, int64_t ldy) {
  const auto* p = static_cast<const uint16_t*>(w.data);
  matmul_rows_with([p](int64_t i) { return f16_to_f32(p[i]); }, w, x, num_tokens, row_begin,
                   row_end, y, ldy);
}

void rms_norm_row(const float* x, const float* weight, float eps, int64_t dim, float* out) {
  float sum_squares = 0.0f;
  for (int64_t i = 0; i < dim; ++i) sum_squares += x[i] * x[i];
  const float inv_rms = 1.0f / std::sqrt(sum_squares / static_cast<float>(dim) + eps);
  for (int64_t i = 0; i < dim; ++i) out[i] = x[i] * inv_rms * weight[i];
}

void layer_norm_row(const float* x, const float* weight, const float* bias, float eps, int64_t dim,
                    float* out) {
  float sum = 0.0f;
  for (int64_t i = 0; i < dim; ++i) sum += x[i];
  const float mean = sum / static_cast<float>(dim);
  float sum_squares = 0.0f;
  for (int64_t i = 0; i < dim; ++i) sum_squares += (x[i] - mean) * (x[i] - mean);
  const float inv_std = 1.0f / std::sqrt(sum_squares / static_cast<float>(dim) + eps);
  for (int64_t i = 0; i < dim; ++i) out[i] = (x[i] - mean) * inv_std * weight[i] + bias[i];
}

void silu_mul(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void gelu_tanh(const float* x, int64_t n, float* out) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    out[i] = 0.5f * v * (1.0f + std::tanh(kSqrt2OverPi * (v + 0.044715f * v * v * v)));
  }
}

float dot(const float* a, const float* b, int64_t n) {
  float acc = 0.0f;
  for (int64_t i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

void axpy(float a, const float* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

float sum(const float* x, int64_t n) {
  float acc = 0.0f;
  for (int64_t i = 0; i < n; ++i) acc += x[i];
  return acc;
}

double fma_peak_probe(int64_t iterations) {
  constexpr int kChains = 8;
  float acc[kChains] = {0, 1, 2, 3, 4, 5, 6, 7};
  for (int64_t i = 0; i < iterations; ++i) {
    for (float& a : acc) a = std::fma(a, 0.999999f, 1e-7f);
  }
  volatile float keep = acc[0] + acc[kChains - 1];
  (void)keep;
  return 2.0 * kChains * static_cast<double>(iterations);
}

void to_f32(const void* src, DType dtype, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = load_as_f32(src, dtype, static_cast<size_t>(i));
}

void from_f32(const float* src, int64_t n, DType dtype, void* out) {
  switch (dtype) {
    case DType::kF32: std::copy(src, src + n, static_cast<float*>(out)); return;
    case DType::kBF16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(out)[i] = f32_to_bf16(src[i]);
      return;
    case DType::kF16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(out)[i] = f32_to_f16(src[i]);
      return;
    default: LM_CHECK(false && "from_f32: dtype must be F32, F16 or BF16");
  }
}

void rope_heads(float* x, int64_t num_heads, int64_t head_dim, const float* cos, const float* sin) {
  const int64_t half = head_dim / 2;
  for (int64_t h = 0; h < num_heads; ++h) {
    float* v = x + h * head_dim;
    for (int64_t i = 0; i < half; ++i) {
      const float x1 = v[i];
      const float x2 = v[i + half];
      v[i] = x1 * cos[i] - x2 * sin[i];
      v[i + half] = x2 * cos[i] + x1 * sin[i];
    }
  }
}

float softmax(float* x, int64_t n) {
  float max_value = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) max_value = std::max(max_value, x[i]);
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max_value);
    total += x[i];
  }
  const float inv_total = static_cast<float>(1.0 / total);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv_total;
  return max_value + static_cast<float>(std::log(total));
}

int64_t argmax(const float* x, int64_t n) {
  return std::max_element(x, x + n) - x;
}

// The definition: each query row on its own, every key read through the
// block table element by element, one softmax over all scores.
void paged_attention(const PagedAttentionArgs& a, int64_t seq, int64_t kv_head, int64_t q_begin,
                     int64_t q_end, float* scores) {
  const PagedKvLayer& kv = a.kv;
  const int64_t head_dim = kv.head_dim;
  const int64_t group = a.num_heads / kv.num_kv_heads;
  const int32_t* blocks = a.block_tables + seq * a.max_blocks_per_seq;
  auto element = [&](const void* base, int64_t key, int64_t i) {
    const int64_t slot =
        static_cast<int64_t>(blocks[key / kv.block_size]) * kv.block_size + key % kv.block_size;
    return load_as_f32(base, kv.dtype,
                       static_cast<size_t>((slot * kv.num_kv_heads + kv_head) * head_dim + i));
  };
  for (int64_t t = q_begin; t < q_end; ++t) {
    const int64_t position = a.positions[t];
    const int64_t first =
        a.sliding_window > 0 ? std::max<int64_t>(0, position - a.sliding_window + 1) : 0;
    const int64_t count = position - first + 1;
    for (int64_t h = kv_head * group; h < (kv_head + 1) * group; ++h) {
      const float* q = a.q + (t * a.num_heads + h) * head_dim;
      for (int64_t j = 0; j < count; ++j) {
        float acc = 0.0f;
        for (int64_t i = 0; i < head_dim; ++i) acc += q[i] * element(kv.keys, first + j, i);
        scores[j] = acc * a.scale;
      }
      softmax(scores, count);
      float* out = a.out + (t * a.num_heads + h) * head_dim;
      for (int64_t i = 0; i < head_dim; ++i) {
        float acc = 0.0f;
        for (int64_t j = 0; j < count; ++j) acc += scores[j] * element(kv.values, first + j, i);
        out[i] = acc;
      }
    }
  }
}

}  // namespace

const KernelTable& generic_kernels() {
  static const KernelTable kTable{
      .name = "generic",
      .matmul_rows = {matmul_rows_f32, matmul_rows_f16, matmul_rows_bf16},
      .rms_norm_row = rms_norm_row,
      .layer_norm_row = layer_norm_row,
      .silu_mul = silu_mul,
      .gelu_tanh = gelu_tanh,
      .dot = dot,
      .axpy = axpy,
      .sum = sum,
      .to_f32 = to_f32,
      .from_f32 = from_f32,
      .rope_heads = rope_heads,
      .softmax = softmax,
      .argmax = argmax,
      .paged_attention = paged_attention,
      .fma_peak_probe = fma_peak_probe,
  };
  return kTable;
}

}  // namespace localmoe::kernels
