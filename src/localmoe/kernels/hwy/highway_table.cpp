// The Highway variant's table and target pinning. Each entry is a thin
// dynamic-dispatch wrapper defined next to its kernel.

#include <string>
#include <vector>

#include "hwy/targets.h"
#include "localmoe/base/error.h"
#include "localmoe/kernels/kernel_table.h"

namespace localmoe::kernels {

void highway_matmul_rows(const TensorView& w, const float* x, int64_t num_tokens, int64_t row_begin,
                         int64_t row_end, float* y, int64_t ldy);
void highway_matmul_rows_prefetching(const TensorView& w, const float* x, int64_t num_tokens,
                                     int64_t row_begin, int64_t row_end, float* y, int64_t ldy);
float highway_dot(const float* a, const float* b, int64_t n);
void highway_axpy(float a, const float* x, int64_t n, float* y);
float highway_sum(const float* x, int64_t n);
double highway_fma_peak_probe(int64_t iterations);
void highway_rms_norm_row(const float* x, const float* weight, float eps, int64_t dim, float* out);
void highway_layer_norm_row(const float* x, const float* weight, const float* bias, float eps,
                            int64_t dim, float* out);
void highway_silu_mul(const float* gate, const float* up, int64_t n, float* out);
void highway_gelu_tanh(const float* x, int64_t n, float* out);

const KernelTable& highway_kernels() {
  static const KernelTable table{
      .name = "highway",
      .matmul_rows = highway_matmul_rows,
      .rms_norm_row = highway_rms_norm_row,
      .layer_norm_row = highway_layer_norm_row,
      .silu_mul = highway_silu_mul,
      .gelu_tanh = highway_gelu_tanh,
      .dot = highway_dot,
      .axpy = highway_axpy,
      .sum = highway_sum,
      .fma_peak_probe = highway_fma_peak_probe,
  };
  return table;
}

const KernelTable& highway_prefetching_kernels() {
  static const KernelTable table = [] {
    KernelTable t = highway_kernels();
    t.name = "highway_prefetching";
    t.matmul_rows = highway_matmul_rows_prefetching;
    return t;
  }();
  return table;
}

namespace {
// What the CPU supports among the compiled targets, read before any pinning
// (pinning narrows hwy::SupportedTargets() to one target).
const std::vector<int64_t>& supported_targets() {
  static const std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
  return targets;
}
}  // namespace

std::vector<std::string> highway_targets() {
  std::vector<std::string> names;
  for (int64_t target : supported_targets()) names.emplace_back(hwy::TargetName(target));
  return names;
}

void pin_highway_target(std::string_view target_name) {
  for (int64_t target : supported_targets()) {
    if (target_name == hwy::TargetName(target)) {
      hwy::SetSupportedTargetsForTest(target);
      return;
    }
  }
  LM_CHECK(false && "pin_highway_target: target not supported here");
}

}  // namespace localmoe::kernels
