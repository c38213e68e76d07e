// Row-wise and element-wise kernels (norms, activations, dot, axpy),
// compiled once per Highway target. Tails shorter than a vector are handled
// in scalar code so every length is exact.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "localmoe/kernels/hwy/vector_ops_hwy.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <cmath>
#include <cstdint>

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace localmoe::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;

HWY_INLINE float reduce(DF df, hn::Vec<DF> v) {
  return hn::GetLane(hn::SumOfLanes(df, v));
}

float Dot(const float* a, const float* b, int64_t n) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  hn::Vec<DF> acc0 = hn::Zero(df), acc1 = hn::Zero(df);
  int64_t i = 0;
  for (; i + 2 * lanes <= n; i += 2 * lanes) {
    acc0 = hn::MulAdd(hn::LoadU(df, a + i), hn::LoadU(df, b + i), acc0);
    acc1 = hn::MulAdd(hn::LoadU(df, a + i + lanes), hn::LoadU(df, b + i + lanes), acc1);
  }
  for (; i + lanes <= n; i += lanes) {
    acc0 = hn::MulAdd(hn::LoadU(df, a + i), hn::LoadU(df, b + i), acc0);
  }
  float sum = reduce(df, hn::Add(acc0, acc1));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void Axpy(float a, const float* x, int64_t n, float* y) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  const hn::Vec<DF> av = hn::Set(df, a);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    hn::StoreU(hn::MulAdd(av, hn::LoadU(df, x + i), hn::LoadU(df, y + i)), df, y + i);
  }
  for (; i < n; ++i) y[i] += a * x[i];
}

// Four independent accumulators keep enough loads in flight to saturate
// memory bandwidth on long arrays.
float Sum(const float* x, int64_t n) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  hn::Vec<DF> a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
  int64_t i = 0;
  for (; i + 4 * lanes <= n; i += 4 * lanes) {
    a0 = hn::Add(a0, hn::LoadU(df, x + i));
    a1 = hn::Add(a1, hn::LoadU(df, x + i + lanes));
    a2 = hn::Add(a2, hn::LoadU(df, x + i + 2 * lanes));
    a3 = hn::Add(a3, hn::LoadU(df, x + i + 3 * lanes));
  }
  float total = reduce(df, hn::Add(hn::Add(a0, a1), hn::Add(a2, a3)));
  for (; i < n; ++i) total += x[i];
  return total;
}

// Twelve independent chains cover the FMA latency (4 cycles) times the
// number of FMA pipes on current x86 cores.
double FmaPeakProbe(int64_t iterations) {
  const DF df;
  const hn::Vec<DF> m = hn::Set(df, 0.999999f);
  const hn::Vec<DF> c = hn::Set(df, 1e-7f);
  hn::Vec<DF> a0 = hn::Set(df, 0.f), a1 = hn::Set(df, 1.f), a2 = hn::Set(df, 2.f);
  hn::Vec<DF> a3 = hn::Set(df, 3.f), a4 = hn::Set(df, 4.f), a5 = hn::Set(df, 5.f);
  hn::Vec<DF> a6 = hn::Set(df, 6.f), a7 = hn::Set(df, 7.f), a8 = hn::Set(df, 8.f);
  hn::Vec<DF> a9 = hn::Set(df, 9.f), a10 = hn::Set(df, 10.f), a11 = hn::Set(df, 11.f);
  for (int64_t i = 0; i < iterations; ++i) {
    a0 = hn::MulAdd(a0, m, c), a1 = hn::MulAdd(a1, m, c), a2 = hn::MulAdd(a2, m, c);
    a3 = hn::MulAdd(a3, m, c), a4 = hn::MulAdd(a4, m, c), a5 = hn::MulAdd(a5, m, c);
    a6 = hn::MulAdd(a6, m, c), a7 = hn::MulAdd(a7, m, c), a8 = hn::MulAdd(a8, m, c);
    a9 = hn::MulAdd(a9, m, c), a10 = hn::MulAdd(a10, m, c), a11 = hn::MulAdd(a11, m, c);
  }
  const hn::Vec<DF> total = hn::Add(
      hn::Add(hn::Add(hn::Add(a0, a1), hn::Add(a2, a3)), hn::Add(hn::Add(a4, a5), hn::Add(a6, a7))),
      hn::Add(hn::Add(a8, a9), hn::Add(a10, a11)));
  volatile float keep = reduce(df, total);
  (void)keep;
  return 2.0 * 12 * static_cast<double>(hn::Lanes(df)) * static_cast<double>(iterations);
}

// out = x * scale * weight (+ bias), the shared tail of both norms.
HWY_INLINE void scale_row(const float* x, float shift, float scale, const float* weight,
                          const float* bias, int64_t dim, float* out) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  const hn::Vec<DF> shift_v = hn::Set(df, shift);
  const hn::Vec<DF> scale_v = hn::Set(df, scale);
  int64_t i = 0;
  for (; i + lanes <= dim; i += lanes) {
    hn::Vec<DF> v = hn::Mul(hn::Mul(hn::Sub(hn::LoadU(df, x + i), shift_v), scale_v),
                            hn::LoadU(df, weight + i));
    if (bias != nullptr) v = hn::Add(v, hn::LoadU(df, bias + i));
    hn::StoreU(v, df, out + i);
  }
  for (; i < dim; ++i) {
    out[i] = (x[i] - shift) * scale * weight[i] + (bias != nullptr ? bias[i] : 0.0f);
  }
}

void RmsNormRow(const float* x, const float* weight, float eps, int64_t dim, float* out) {
  const float mean_square = Dot(x, x, dim) / static_cast<float>(dim);
  scale_row(x, 0.0f, 1.0f / std::sqrt(mean_square + eps), weight, nullptr, dim, out);
}

void LayerNormRow(const float* x, const float* weight, const float* bias, float eps, int64_t dim,
                  float* out) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  hn::Vec<DF> acc = hn::Zero(df);
  int64_t i = 0;
  for (; i + lanes <= dim; i += lanes) acc = hn::Add(acc, hn::LoadU(df, x + i));
  float sum = reduce(df, acc);
  for (; i < dim; ++i) sum += x[i];
  const float mean = sum / static_cast<float>(dim);

  const hn::Vec<DF> mean_v = hn::Set(df, mean);
  acc = hn::Zero(df);
  i = 0;
  for (; i + lanes <= dim; i += lanes) {
    const hn::Vec<DF> d = hn::Sub(hn::LoadU(df, x + i), mean_v);
    acc = hn::MulAdd(d, d, acc);
  }
  float sum_squares = reduce(df, acc);
  for (; i < dim; ++i) sum_squares += (x[i] - mean) * (x[i] - mean);
  const float inv_std = 1.0f / std::sqrt(sum_squares / static_cast<float>(dim) + eps);
  scale_row(x, mean, inv_std, weight, bias, dim, out);
}

void SiluMul(const float* gate, const float* up, int64_t n, float* out) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  const hn::Vec<DF> one = hn::Set(df, 1.0f);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const hn::Vec<DF> g = hn::LoadU(df, gate + i);
    const hn::Vec<DF> sigmoid = hn::Div(one, hn::Add(one, hn::Exp(df, hn::Neg(g))));
    hn::StoreU(hn::Mul(hn::Mul(g, sigmoid), hn::LoadU(df, up + i)), df, out + i);
  }
  for (; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void GeluTanh(const float* x, int64_t n, float* out) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  const hn::Vec<DF> half = hn::Set(df, 0.5f);
  const hn::Vec<DF> one = hn::Set(df, 1.0f);
  const hn::Vec<DF> c = hn::Set(df, kSqrt2OverPi);
  const hn::Vec<DF> cubic = hn::Set(df, 0.044715f);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const hn::Vec<DF> v = hn::LoadU(df, x + i);
    const hn::Vec<DF> inner = hn::Mul(c, hn::MulAdd(hn::Mul(cubic, v), hn::Mul(v, v), v));
    hn::StoreU(hn::Mul(hn::Mul(half, v), hn::Add(one, hn::Tanh(df, inner))), df, out + i);
  }
  for (; i < n; ++i) {
    const float v = x[i];
    out[i] = 0.5f * v * (1.0f + std::tanh(kSqrt2OverPi * (v + 0.044715f * v * v * v)));
  }
}

}  // namespace localmoe::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace localmoe::kernels {
HWY_EXPORT(Dot);
HWY_EXPORT(Axpy);
HWY_EXPORT(Sum);
HWY_EXPORT(FmaPeakProbe);
HWY_EXPORT(RmsNormRow);
HWY_EXPORT(LayerNormRow);
HWY_EXPORT(SiluMul);
HWY_EXPORT(GeluTanh);

float highway_dot(const float* a, const float* b, int64_t n) {
  return HWY_DYNAMIC_DISPATCH(Dot)(a, b, n);
}
void highway_axpy(float a, const float* x, int64_t n, float* y) {
  HWY_DYNAMIC_DISPATCH(Axpy)(a, x, n, y);
}
float highway_sum(const float* x, int64_t n) {
  return HWY_DYNAMIC_DISPATCH(Sum)(x, n);
}
double highway_fma_peak_probe(int64_t iterations) {
  return HWY_DYNAMIC_DISPATCH(FmaPeakProbe)(iterations);
}
void highway_rms_norm_row(const float* x, const float* weight, float eps, int64_t dim, float* out) {
  HWY_DYNAMIC_DISPATCH(RmsNormRow)(x, weight, eps, dim, out);
}
void highway_layer_norm_row(const float* x, const float* weight, const float* bias, float eps,
                            int64_t dim, float* out) {
  HWY_DYNAMIC_DISPATCH(LayerNormRow)(x, weight, bias, eps, dim, out);
}
void highway_silu_mul(const float* gate, const float* up, int64_t n, float* out) {
  HWY_DYNAMIC_DISPATCH(SiluMul)(gate, up, n, out);
}
void highway_gelu_tanh(const float* x, int64_t n, float* out) {
  HWY_DYNAMIC_DISPATCH(GeluTanh)(x, n, out);
}
}  // namespace localmoe::kernels
#endif
