// The scalar reference of every kernel: the definition the SIMD variants
// are tested against, and the fallback on CPUs without a SIMD target.

#include <cmath>

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

void matmul_rows(const TensorView& w, const float* x, int64_t num_tokens, int64_t row_begin,
                 int64_t row_end, float* y, int64_t ldy) {
  const int64_t cols = w.cols();
  switch (w.dtype) {
    case DType::kF32: {
      const float* p = w.as<float>();
      matmul_rows_impl([p](int64_t i) { return p[i]; }, cols, x, num_tokens, row_begin, row_end, y,
                       ldy);
      return;
    }
    case DType::kBF16: {
      const uint16_t* p = w.as<uint16_t>();
      matmul_rows_impl([p](int64_t i) { return bf16_to_f32(p[i]); }, cols, x, num_tokens, row_begin,
                       row_end, y, ldy);
      return;
    }
    case DType::kF16: {
      const uint16_t* p = w.as<uint16_t>();
      matmul_rows_impl([p](int64_t i) { return f16_to_f32(p[i]); }, cols, x, num_tokens, row_begin,
                       row_end, y, ldy);
      return;
    }
    default: LM_CHECK(false && "matmul weight dtype must be F32, F16 or BF16");
  }
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

}  // namespace

const KernelTable& generic_kernels() {
  static const KernelTable table{
      .name = "generic",
      .matmul_rows = matmul_rows,
      .rms_norm_row = rms_norm_row,
      .layer_norm_row = layer_norm_row,
      .silu_mul = silu_mul,
      .gelu_tanh = gelu_tanh,
      .dot = dot,
      .axpy = axpy,
      .sum = sum,
      .fma_peak_probe = fma_peak_probe,
  };
  return table;
}

}  // namespace localmoe::kernels
