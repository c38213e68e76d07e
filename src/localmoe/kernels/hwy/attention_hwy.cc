// Causal attention over the paged KV cache, compiled once per Highway
// target. One work item is a run of one sequence's queries against one KV
// head: every K/V block it needs is widened to f32 once and then used by all
// of the item's queries and by every query head of the KV head's group, so
// grouped-query heads share each K/V read. Softmax is taken online, block by
// block (running maximum and sum per query row, the flash-attention
// recurrence), so no score array grows with the context.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "localmoe/kernels/hwy/attention_hwy.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "localmoe/base/dtype.h"
#include "localmoe/kernels/hwy/highway_dispatch.h"
#include "localmoe/kernels/kernel_table.h"

HWY_BEFORE_NAMESPACE();
namespace localmoe::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;

// Defined in vector_ops_hwy.cc for the same target.
float Dot(const float* a, const float* b, int64_t n);
void Axpy(float a, const float* x, int64_t n, float* y);
void ToF32(const void* src, DType dtype, int64_t n, float* out);
float MaxOf(const float* x, int64_t n);

// x[i] = exp(x[i] - shift) for i < n; returns the sum.
float ExpShiftedSum(float* x, int64_t n, float shift) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  const hn::Vec<DF> vshift = hn::Set(df, shift);
  hn::Vec<DF> total = hn::Zero(df);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const hn::Vec<DF> e = hn::Exp(df, hn::Sub(hn::LoadU(df, x + i), vshift));
    hn::StoreU(e, df, x + i);
    total = hn::Add(total, e);
  }
  float result = hn::GetLane(hn::SumOfLanes(df, total));
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - shift);
    result += x[i];
  }
  return result;
}

void Scale(float a, float* x, int64_t n) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  const hn::Vec<DF> va = hn::Set(df, a);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) hn::StoreU(hn::Mul(hn::LoadU(df, x + i), va), df, x + i);
  for (; i < n; ++i) x[i] *= a;
}

void PagedAttention(const PagedAttentionArgs& a, int64_t seq, int64_t kv_head, int64_t q_begin,
                    int64_t q_end, float* scratch) {
  const PagedKvLayer& kv = a.kv;
  const int64_t head_dim = kv.head_dim;
  const int64_t block_size = kv.block_size;
  const int64_t group = a.num_heads / kv.num_kv_heads;
  const int64_t rows = (q_end - q_begin) * group;  // row r: query q_begin + r / group
  float* acc = scratch;                            // [rows, head_dim]
  float* row_max = acc + rows * head_dim;          // [rows]
  float* row_sum = row_max + rows;                 // [rows]
  float* keys = row_sum + rows;                    // [block_size, head_dim]
  float* values = keys + block_size * head_dim;    // [block_size, head_dim]
  float* scores = values + block_size * head_dim;  // [block_size]
  std::fill(acc, acc + rows * head_dim, 0.0f);
  std::fill(row_max, row_max + rows, -std::numeric_limits<float>::infinity());
  std::fill(row_sum, row_sum + rows, 0.0f);

  const int32_t* blocks = a.block_tables + seq * a.max_blocks_per_seq;
  const int64_t window = a.sliding_window;
  const int64_t last_key = a.positions[q_end - 1];
  const int64_t first_key =
      window > 0 ? std::max<int64_t>(0, a.positions[q_begin] - window + 1) : 0;
  const size_t element_bytes = dtype_size(kv.dtype);
  const int64_t token_stride = kv.num_kv_heads * head_dim;  // elements between slots

  for (int64_t block = first_key / block_size; block <= last_key / block_size; ++block) {
    const int64_t lo = std::max(block * block_size, first_key);
    const int64_t hi = std::min((block + 1) * block_size, last_key + 1);
    const int64_t base_slot = static_cast<int64_t>(blocks[block]) * block_size - block * block_size;
    for (int64_t j = lo; j < hi; ++j) {
      const size_t offset =
          static_cast<size_t>((base_slot + j) * token_stride + kv_head * head_dim) * element_bytes;
      ToF32(static_cast<const uint8_t*>(kv.keys) + offset, kv.dtype, head_dim,
            keys + (j - lo) * head_dim);
      ToF32(static_cast<const uint8_t*>(kv.values) + offset, kv.dtype, head_dim,
            values + (j - lo) * head_dim);
    }
    for (int64_t t = q_begin; t < q_end; ++t) {
      const int64_t position = a.positions[t];
      const int64_t key_lo = window > 0 ? std::max(lo, position - window + 1) : lo;
      const int64_t key_hi = std::min(hi, position + 1);
      if (key_lo >= key_hi) continue;
      const int64_t count = key_hi - key_lo;
      for (int64_t g = 0; g < group; ++g) {
        const int64_t r = (t - q_begin) * group + g;
        const float* q = a.q + (t * a.num_heads + kv_head * group + g) * head_dim;
        for (int64_t j = 0; j < count; ++j) {
          scores[j] = Dot(q, keys + (key_lo - lo + j) * head_dim, head_dim) * a.scale;
        }
        const float new_max = std::max(row_max[r], MaxOf(scores, count));
        if (row_max[r] != new_max) {
          const float correction = std::exp(row_max[r] - new_max);  // 0 for the first block
          Scale(correction, acc + r * head_dim, head_dim);
          row_sum[r] *= correction;
          row_max[r] = new_max;
        }
        row_sum[r] += ExpShiftedSum(scores, count, new_max);
        for (int64_t j = 0; j < count; ++j) {
          Axpy(scores[j], values + (key_lo - lo + j) * head_dim, head_dim, acc + r * head_dim);
        }
      }
    }
  }
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t t = q_begin + r / group;
    float* out = a.out + (t * a.num_heads + kv_head * group + r % group) * head_dim;
    const float inv_sum = 1.0f / row_sum[r];
    for (int64_t i = 0; i < head_dim; ++i) out[i] = acc[r * head_dim + i] * inv_sum;
  }
}

void FillAttention(KernelTable& table) {
  table.paged_attention = PagedAttention;
}

}  // namespace localmoe::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace localmoe::kernels {
HWY_EXPORT(FillAttention);

void fill_highway_attention(int64_t target, KernelTable& table) {
  HWY_DISPATCH_TABLE(FillAttention)[highway_dispatch_index(target)](table);
}
}  // namespace localmoe::kernels
#endif
