#pragma once
// Internal to kernels/: the per-variant entry points. Each works on a slice
// (rows of a matrix, one vector) on the calling thread; kernels.cpp splits
// work across the pool, so threading is written once for all variants.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "localmoe/base/tensor.h"

namespace localmoe::kernels {

struct KernelTable {
  std::string_view name;
  // y[t * ldy + n] = dot(x[t, :], w[n, :]) for n in [row_begin, row_end).
  void (*matmul_rows)(const TensorView& w, const float* x, int64_t num_tokens, int64_t row_begin,
                      int64_t row_end, float* y, int64_t ldy);
  void (*rms_norm_row)(const float* x, const float* weight, float eps, int64_t dim, float* out);
  void (*layer_norm_row)(const float* x, const float* weight, const float* bias, float eps,
                         int64_t dim, float* out);
  void (*silu_mul)(const float* gate, const float* up, int64_t n, float* out);
  void (*gelu_tanh)(const float* x, int64_t n, float* out);
  float (*dot)(const float* a, const float* b, int64_t n);
  // y += a * x
  void (*axpy)(float a, const float* x, int64_t n, float* y);
  float (*sum)(const float* x, int64_t n);
  // Independent FMA chains in registers; returns the FLOPs performed.
  double (*fma_peak_probe)(int64_t iterations);
};

// The scalar reference, correct everywhere.
const KernelTable& generic_kernels();
// Highway's dynamic dispatch over its compiled targets; `target_name` is the
// Highway target in use ("AVX3", "AVX2", ...).
const KernelTable& highway_kernels();
// The same with decode's matrix-vector products prefetching their weight
// stream in software (kernels.cpp says on which CPUs that pays).
const KernelTable& highway_prefetching_kernels();
// Highway targets this CPU supports among those compiled, best first, and a
// way to pin one (hwy::SetSupportedTargetsForTest underneath).
std::vector<std::string> highway_targets();
void pin_highway_target(std::string_view target_name);

}  // namespace localmoe::kernels
