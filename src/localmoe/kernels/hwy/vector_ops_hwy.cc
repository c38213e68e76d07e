// Row-wise and element-wise kernels (norms, activations, dot, axpy),
// compiled once per Highway target. Tails shorter than a vector are handled
// in scalar code so every length is exact.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "localmoe/kernels/hwy/vector_ops_hwy.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "localmoe/base/dtype.h"
#include "localmoe/base/error.h"
#include "localmoe/kernels/hwy/highway_dispatch.h"
#include "localmoe/kernels/kernel_table.h"

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

void ToF32(const void* src, DType dtype, int64_t n, float* out) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  int64_t i = 0;
  switch (dtype) {
    case DType::kF32: std::copy_n(static_cast<const float*>(src), n, out); return;
    case DType::kBF16: {
      const auto* p = static_cast<const hwy::bfloat16_t*>(src);
      const hn::Rebind<hwy::bfloat16_t, DF> dbf;
      for (; i + lanes <= n; i += lanes)
        hn::StoreU(hn::PromoteTo(df, hn::LoadU(dbf, p + i)), df, out + i);
      break;
    }
    case DType::kF16: {
      const auto* p = static_cast<const hwy::float16_t*>(src);
      const hn::Rebind<hwy::float16_t, DF> dh;
      for (; i + lanes <= n; i += lanes)
        hn::StoreU(hn::PromoteTo(df, hn::LoadU(dh, p + i)), df, out + i);
      break;
    }
    default: LM_CHECK(false && "to_f32: dtype must be F32, F16 or BF16");
  }
  for (; i < n; ++i) out[i] = load_as_f32(src, dtype, static_cast<size_t>(i));
}

// Rounding to nearest even goes through base/dtype's exact conversions: the
// KV cache writes a few rows per token, far from any bottleneck.
void FromF32(const float* src, int64_t n, DType dtype, void* out) {
  switch (dtype) {
    case DType::kF32: std::copy_n(src, n, static_cast<float*>(out)); return;
    case DType::kBF16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(out)[i] = f32_to_bf16(src[i]);
      return;
    case DType::kF16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(out)[i] = f32_to_f16(src[i]);
      return;
    default: LM_CHECK(false && "from_f32: dtype must be F32, F16 or BF16");
  }
}

void RopeHeads(float* x, int64_t num_heads, int64_t head_dim, const float* cos, const float* sin) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  const int64_t half = head_dim / 2;
  for (int64_t h = 0; h < num_heads; ++h) {
    float* v = x + h * head_dim;
    int64_t i = 0;
    for (; i + lanes <= half; i += lanes) {
      const hn::Vec<DF> x1 = hn::LoadU(df, v + i);
      const hn::Vec<DF> x2 = hn::LoadU(df, v + half + i);
      const hn::Vec<DF> c = hn::LoadU(df, cos + i);
      const hn::Vec<DF> s = hn::LoadU(df, sin + i);
      hn::StoreU(hn::NegMulAdd(x2, s, hn::Mul(x1, c)), df, v + i);
      hn::StoreU(hn::MulAdd(x1, s, hn::Mul(x2, c)), df, v + half + i);
    }
    for (; i < half; ++i) {
      const float x1 = v[i];
      const float x2 = v[i + half];
      v[i] = x1 * cos[i] - x2 * sin[i];
      v[i + half] = x2 * cos[i] + x1 * sin[i];
    }
  }
}

float MaxOf(const float* x, int64_t n) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  float result = -std::numeric_limits<float>::infinity();
  int64_t i = 0;
  if (n >= lanes) {
    hn::Vec<DF> m = hn::LoadU(df, x);
    for (i = lanes; i + lanes <= n; i += lanes) m = hn::Max(m, hn::LoadU(df, x + i));
    result = hn::GetLane(hn::MaxOfLanes(df, m));
  }
  for (; i < n; ++i) result = std::max(result, x[i]);
  return result;
}

float Softmax(float* x, int64_t n) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  const float max_value = MaxOf(x, n);
  const hn::Vec<DF> vmax = hn::Set(df, max_value);
  // The normalizer is summed in double per vector, as the reference does
  // over single values: a 150,000-entry vocabulary loses digits in f32.
  double total = 0.0;
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const hn::Vec<DF> e = hn::Exp(df, hn::Sub(hn::LoadU(df, x + i), vmax));
    hn::StoreU(e, df, x + i);
    total += static_cast<double>(reduce(df, e));
  }
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - max_value);
    total += x[i];
  }
  const hn::Vec<DF> scale = hn::Set(df, static_cast<float>(1.0 / total));
  for (i = 0; i + lanes <= n; i += lanes)
    hn::StoreU(hn::Mul(hn::LoadU(df, x + i), scale), df, x + i);
  const float inv_total = static_cast<float>(1.0 / total);
  for (; i < n; ++i) x[i] *= inv_total;
  return max_value + static_cast<float>(std::log(total));
}

// The first index of the maximum: find the value with vector Max, then the
// first position equal to it.
int64_t Argmax(const float* x, int64_t n) {
  const float max_value = MaxOf(x, n);
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  const hn::Vec<DF> vmax = hn::Set(df, max_value);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const intptr_t found = hn::FindFirstTrue(df, hn::Eq(hn::LoadU(df, x + i), vmax));
    if (found >= 0) return i + found;
  }
  for (; i < n; ++i) {
    if (x[i] == max_value) return i;
  }
  // Only NaNs compare unequal to the maximum found.
  return 0;
}

void FillVectorOps(KernelTable& t) {
  t.rms_norm_row = RmsNormRow;
  t.layer_norm_row = LayerNormRow;
  t.silu_mul = SiluMul;
  t.gelu_tanh = GeluTanh;
  t.dot = Dot;
  t.axpy = Axpy;
  t.sum = Sum;
  t.to_f32 = ToF32;
  t.from_f32 = FromF32;
  t.rope_heads = RopeHeads;
  t.softmax = Softmax;
  t.argmax = Argmax;
  t.fma_peak_probe = FmaPeakProbe;
}

}  // namespace localmoe::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace localmoe::kernels {
HWY_EXPORT(FillVectorOps);

void fill_highway_vector_ops(int64_t target, KernelTable& table) {
  HWY_DISPATCH_TABLE(FillVectorOps)[highway_dispatch_index(target)](table);
}
}  // namespace localmoe::kernels
#endif
