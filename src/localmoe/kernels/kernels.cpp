// Variant selection, and the work split across the thread pool, written once
// for every variant: a variant only computes slices on the calling thread.

#include "localmoe/kernels/kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "localmoe/base/cpu_features.h"
#include "localmoe/base/error.h"
#include "localmoe/kernels/kernel_table.h"

namespace localmoe::kernels {
namespace {

// Filled once at start-up (or by tests between cases); read-only afterwards.
const KernelTable* g_table = nullptr;
std::string g_variant_name;

const KernelTable& table() {
  if (g_table == nullptr) select_variant("best");
  return *g_table;
}

// Rows are split in multiples of this, the matmul variants' row tile.
constexpr int64_t kRowGrain = 4;

// Every Highway target also comes as "<TARGET>_PREFETCH": decode's weight
// stream prefetched in software, BF16 read as even/odd halves of 32-bit
// lanes (matmul_hwy.cc). On Intel cores (Sapphire Rapids measured) the
// hardware prefetchers alone leave a BF16 matrix-vector product at about
// two thirds of a plain sum's bandwidth, and this closes the gap; on AMD
// Zen 4 both the prefetch and the even/odd split made the stream slower. So
// "best" prefetches on Intel only. docs/performance.md has the figures.
constexpr std::string_view kPrefetchSuffix = "_PREFETCH";

bool prefetch_pays_here() {
  return cpu_features().vendor == CpuVendor::kIntel;
}

}  // namespace

// ---- variant selection -------------------------------------------------------

std::vector<std::string> available_variants() {
  std::vector<std::string> names;
  for (const std::string& target : highway_targets()) {
    const std::string prefetching = target + std::string(kPrefetchSuffix);
    if (prefetch_pays_here()) {
      names.push_back(prefetching);
      names.push_back(target);
    } else {
      names.push_back(target);
      names.push_back(prefetching);
    }
  }
  names.emplace_back("generic");
  return names;
}

void select_variant(std::string_view name) {
  const std::vector<std::string> names = available_variants();
  const std::string chosen = name == "best" ? names.front() : std::string(name);
  if (std::find(names.begin(), names.end(), chosen) == names.end()) {
    std::string list;
    for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
    throw make_error(ErrorKind::kInvalidArgument, "kernel variant '", name,
                     "' is not available on this CPU (available: best, ", list, ")");
  }
  if (chosen == "generic") {
    g_table = &generic_kernels();
  } else if (chosen.ends_with(kPrefetchSuffix)) {
    pin_highway_target(std::string_view(chosen).substr(0, chosen.size() - kPrefetchSuffix.size()));
    g_table = &highway_prefetching_kernels();
  } else {
    pin_highway_target(chosen);
    g_table = &highway_kernels();
  }
  g_variant_name = chosen;
}

std::string_view current_variant() {
  table();
  return g_variant_name;
}

// ---- matrix products ---------------------------------------------------------

void matmul(const TensorView& w, const float* x, int64_t num_tokens, float* y, int64_t ldy,
            ThreadPool& pool) {
  const MatmulTarget target{&w, y, ldy};
  matmul_many({&target, 1}, x, num_tokens, pool);
}

void matmul_many(std::span<const MatmulTarget> targets, const float* x, int64_t num_tokens,
                 ThreadPool& pool) {
  int64_t total_rows = 0;
  for (const MatmulTarget& target : targets) {
    LM_CHECK_EQ(target.w->shape.rank(), 2);
    LM_CHECK_EQ(target.w->cols(), targets[0].w->cols());
    LM_CHECK_GE(target.ldy, target.w->rows());
    total_rows += target.w->rows();
  }
  const KernelTable& kernels = table();
  // Threads take chunks of the stacked rows of all targets as they finish:
  // each chunk is still one long sequential stream.
  pool.parallel_for_balanced(total_rows, kRowGrain, [&](int64_t begin, int64_t end, int) {
    int64_t offset = 0;
    for (const MatmulTarget& target : targets) {
      const int64_t rows = target.w->rows();
      const int64_t lo = std::max(begin, offset) - offset;
      const int64_t hi = std::min(end, offset + rows) - offset;
      if (lo < hi) kernels.matmul_rows(*target.w, x, num_tokens, lo, hi, target.y, target.ldy);
      offset += rows;
    }
  });
}

void add_bias(const float* bias, int64_t num_tokens, int64_t dim, int64_t ldy, float* y) {
  for (int64_t t = 0; t < num_tokens; ++t) add(bias, dim, y + t * ldy);
}

// ---- normalization -----------------------------------------------------------

void rms_norm(const float* x, const float* weight, float eps, int64_t rows, int64_t dim,
              float* out) {
  const KernelTable& kernels = table();
  for (int64_t r = 0; r < rows; ++r)
    kernels.rms_norm_row(x + r * dim, weight, eps, dim, out + r * dim);
}

void layer_norm(const float* x, const float* weight, const float* bias, float eps, int64_t rows,
                int64_t dim, float* out) {
  const KernelTable& kernels = table();
  for (int64_t r = 0; r < rows; ++r) {
    kernels.layer_norm_row(x + r * dim, weight, bias, eps, dim, out + r * dim);
  }
}

// ---- element-wise ------------------------------------------------------------

void silu_mul(const float* gate, const float* up, int64_t n, float* out) {
  table().silu_mul(gate, up, n, out);
}

void gelu_tanh(const float* x, int64_t n, float* out) {
  table().gelu_tanh(x, n, out);
}

void add(const float* x, int64_t n, float* y) {
  table().axpy(1.0f, x, n, y);
}

void axpy(float a, const float* x, int64_t n, float* y) {
  table().axpy(a, x, n, y);
}

float sum(const float* x, int64_t n) {
  return table().sum(x, n);
}

// ---- embeddings and positions ------------------------------------------------

void embedding(const TensorView& table_view, const int32_t* ids, int64_t num_tokens, float* out) {
  const int64_t dim = table_view.cols();
  for (int64_t t = 0; t < num_tokens; ++t) {
    LM_CHECK(ids[t] >= 0 && ids[t] < table_view.rows());
    const size_t base = static_cast<size_t>(ids[t]) * static_cast<size_t>(dim);
    for (int64_t i = 0; i < dim; ++i) {
      out[t * dim + i] = load_as_f32(table_view.data, table_view.dtype, base + i);
    }
  }
}

void rope(float* x, const int32_t* positions, int64_t num_tokens, int64_t num_heads,
          int64_t head_dim, const double* inv_freq, double position_scale) {
  const int64_t half = head_dim / 2;
  constexpr int64_t kMaxHalf = 512;
  LM_CHECK_LE(half, kMaxHalf);
  float cos_table[kMaxHalf];
  float sin_table[kMaxHalf];
  for (int64_t t = 0; t < num_tokens; ++t) {
    // Angles in double: positions in the thousands times small frequencies
    // lose digits in f32.
    const double position = static_cast<double>(positions[t]) * position_scale;
    for (int64_t i = 0; i < half; ++i) {
      const double angle = position * inv_freq[i];
      cos_table[i] = static_cast<float>(std::cos(angle));
      sin_table[i] = static_cast<float>(std::sin(angle));
    }
    for (int64_t h = 0; h < num_heads; ++h) {
      float* v = x + (t * num_heads + h) * head_dim;
      for (int64_t i = 0; i < half; ++i) {
        const float x1 = v[i];
        const float x2 = v[i + half];
        v[i] = x1 * cos_table[i] - x2 * sin_table[i];
        v[i + half] = x2 * cos_table[i] + x1 * sin_table[i];
      }
    }
  }
}

// ---- attention ---------------------------------------------------------------

void attention(const AttentionArgs& a, ThreadPool& pool) {
  LM_CHECK_EQ(a.num_heads % a.num_kv_heads, 0);
  const int64_t group = a.num_heads / a.num_kv_heads;
  const int64_t kv_stride = a.num_kv_heads * a.head_dim;
  const KernelTable& kernels = table();
  pool.parallel_for(a.num_tokens * a.num_heads, 1, [&](int64_t begin, int64_t end, int thread) {
    float* scores = a.scratch + thread * a.scratch_stride;
    for (int64_t index = begin; index < end; ++index) {
      const int64_t t = index / a.num_heads;
      const int64_t h = index % a.num_heads;
      const int64_t position = a.positions[t];
      LM_DCHECK_LT(position, a.scratch_stride);
      const int64_t first =
          a.sliding_window > 0 ? std::max<int64_t>(0, position - a.sliding_window + 1) : 0;
      const int64_t count = position - first + 1;
      const float* q = a.q + (t * a.num_heads + h) * a.head_dim;
      const int64_t kv_offset = (h / group) * a.head_dim;
      for (int64_t j = 0; j < count; ++j) {
        scores[j] =
            kernels.dot(q, a.k_cache + (first + j) * kv_stride + kv_offset, a.head_dim) * a.scale;
      }
      softmax(scores, count);
      float* out = a.out + (t * a.num_heads + h) * a.head_dim;
      std::fill(out, out + a.head_dim, 0.0f);
      for (int64_t j = 0; j < count; ++j) {
        kernels.axpy(scores[j], a.v_cache + (first + j) * kv_stride + kv_offset, a.head_dim, out);
      }
    }
  });
}

// ---- hardware limits ---------------------------------------------------------

double fma_peak_probe(int64_t iterations) {
  return table().fma_peak_probe(iterations);
}

// ---- sampling helpers --------------------------------------------------------

float softmax(float* x, int64_t n) {
  float max_value = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) max_value = std::max(max_value, x[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max_value);
    sum += x[i];
  }
  const float inv_sum = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv_sum;
  return max_value + static_cast<float>(std::log(sum));
}

int64_t argmax(const float* x, int64_t n) {
  LM_CHECK_GT(n, 0);
  return std::max_element(x, x + n) - x;
}

}  // namespace localmoe::kernels
