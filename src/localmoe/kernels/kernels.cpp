// Variant selection, and the work split across the thread pool, written once
// for every variant: a variant only computes slices on the calling thread.
// The matrix products' split lives in matmul.cpp.

#include "localmoe/kernels/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "hwy/targets.h"
#include "localmoe/base/cpu_features.h"
#include "localmoe/base/error.h"
#include "localmoe/kernels/x86/gemm_amx_bf16.h"
#include "localmoe/kernels/x86/gemm_avx512bf16.h"

namespace localmoe::kernels {
namespace {

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

// "AVX3_BF16" and "AVX3_PREFETCH_BF16": the AVX3 tables with the AVX512-BF16
// dot-product GEMM for BF16 weights (x86/gemm_avx512bf16.h). "AVX3_AMX" and
// "AVX3_PREFETCH_AMX": the same with the AMX-BF16 tile GEMM
// (x86/gemm_amx_bf16.h). Both round the activations of those products to
// BF16. Where the CPU has AMX its tables come first: on Sapphire Rapids
// they measured 2.3-2.5x faster than AVX3's f32 GEMM at 16 tokens and
// 4.4-5.8x at 512 (docs/performance.md). The dot-product tables come after
// the exact ones: there vdpbf16ps issues once per two cycles, so its 32
// multiply-adds per instruction are half of what two f32 FMAs do per cycle,
// and its GEMM measured 0.70-0.76x AVX3's at 512 tokens.
constexpr std::string_view kBf16Suffix = "_BF16";
constexpr std::string_view kAmxSuffix = "_AMX";

bool bf16_dot_here(int64_t target) {
  const CpuFeatures& f = cpu_features();
  return target == HWY_AVX3 && f.avx512bf16 && f.avx512bw && f.avx512vl;
}

bool amx_here(int64_t target) {
  const CpuFeatures& f = cpu_features();
  return bf16_dot_here(target) && f.amx_bf16 && f.amx_permitted;
}

KernelTable with_bf16_gemm(KernelTable table, MatmulBlockFn gemm, int64_t min_tokens,
                           int64_t block_tokens, double (*peak_probe)(int64_t)) {
  constexpr int kBf16 = static_cast<int>(WeightFormat::kBF16);
  table.matmul_block[kBf16] = gemm;
  table.matmul_block_min_tokens[kBf16] = min_tokens;
  table.matmul_block_tokens[kBf16] = block_tokens;
  table.matmul_block_rounds_x_to_bf16[kBf16] = true;
  table.bf16_gemm_peak_probe = peak_probe;
  return table;
}

// The names of one Highway target's variants, best first.
std::vector<std::string> target_variants(int64_t target) {
  const std::string plain = hwy::TargetName(target);
  const std::string prefetching = plain + std::string(kPrefetchSuffix);
  const std::vector<std::string> streams = {prefetch_pays_here() ? prefetching : plain,
                                            prefetch_pays_here() ? plain : prefetching};
  std::vector<std::string> names;
  auto add = [&](std::string_view suffix) {
    for (const std::string& stream : streams) names.push_back(stream + std::string(suffix));
  };
  if (amx_here(target)) add(kAmxSuffix);
  add("");
  if (bf16_dot_here(target)) add(kBf16Suffix);
  return names;
}

}  // namespace

// ---- variant selection -------------------------------------------------------

std::vector<std::string> Kernels::available() {
  std::vector<std::string> names;
  for (int64_t target : highway_targets()) {
    const std::vector<std::string> variants = target_variants(target);
    names.insert(names.end(), variants.begin(), variants.end());
  }
  names.emplace_back("generic");
  return names;
}

Kernels Kernels::select(std::string_view name) {
  const std::vector<std::string> names = available();
  const std::string chosen = name == "best" ? names.front() : std::string(name);
  if (chosen == "generic") return Kernels(generic_kernels(), chosen);
  for (int64_t target : highway_targets()) {
    for (const std::string& variant : target_variants(target)) {
      if (chosen != variant) continue;
      const std::string_view rest =
          std::string_view(variant).substr(std::strlen(hwy::TargetName(target)));
      const bool prefetching = rest.starts_with(kPrefetchSuffix);
      KernelTable table = highway_kernels(target, prefetching);
      if (rest.ends_with(kBf16Suffix)) {
        table = with_bf16_gemm(table, gemm_bf16_dot, kGemmMinTokens, kBf16DotBlockTokens,
                               bf16_dot_peak_probe);
      } else if (rest.ends_with(kAmxSuffix)) {
        table = with_bf16_gemm(table, gemm_bf16_amx, kAmxMinTokens, kAmxBlockTokens,
                               amx_bf16_peak_probe);
      }
      return Kernels(table, chosen);
    }
  }
  std::string list;
  for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
  throw make_error(ErrorKind::kInvalidArgument, "kernel variant '", name,
                   "' is not available on this CPU (available: best, ", list, ")");
}

// ---- normalization -----------------------------------------------------------

void Kernels::rms_norm(const float* x, const float* weight, float eps, int64_t rows, int64_t dim,
                       float* out) const {
  for (int64_t r = 0; r < rows; ++r)
    table_.rms_norm_row(x + r * dim, weight, eps, dim, out + r * dim);
}

void Kernels::layer_norm(const float* x, const float* weight, const float* bias, float eps,
                         int64_t rows, int64_t dim, float* out) const {
  for (int64_t r = 0; r < rows; ++r) {
    table_.layer_norm_row(x + r * dim, weight, bias, eps, dim, out + r * dim);
  }
}

void Kernels::add_bias(const float* bias, int64_t num_tokens, int64_t dim, int64_t ldy,
                       float* y) const {
  for (int64_t t = 0; t < num_tokens; ++t) add(bias, dim, y + t * ldy);
}

// ---- embeddings, positions and the KV cache ----------------------------------

void Kernels::embedding(const TensorView& table, const int32_t* ids, int64_t num_tokens,
                        float* out) const {
  const int64_t dim = table.cols();
  for (int64_t t = 0; t < num_tokens; ++t) {
    LM_CHECK(ids[t] >= 0 && ids[t] < table.rows());
    table_.to_f32(table.row(ids[t]), table.dtype, dim, out + t * dim);
  }
}

void Kernels::rope(float* x, const int32_t* positions, int64_t num_tokens, int64_t num_heads,
                   int64_t head_dim, const double* inv_freq, double position_scale) const {
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
    table_.rope_heads(x + t * num_heads * head_dim, num_heads, head_dim, cos_table, sin_table);
  }
}

void Kernels::store_kv(const PagedKvLayer& kv, const float* keys, const float* values,
                       const int64_t* slot_mapping, int64_t num_tokens) const {
  const int64_t kv_dim = kv.num_kv_heads * kv.head_dim;
  const size_t slot_bytes = static_cast<size_t>(kv_dim) * dtype_size(kv.dtype);
  for (int64_t t = 0; t < num_tokens; ++t) {
    LM_DCHECK(slot_mapping[t] >= 0);
    const size_t offset = static_cast<size_t>(slot_mapping[t]) * slot_bytes;
    table_.from_f32(keys + t * kv_dim, kv_dim, kv.dtype, static_cast<uint8_t*>(kv.keys) + offset);
    table_.from_f32(values + t * kv_dim, kv_dim, kv.dtype,
                    static_cast<uint8_t*>(kv.values) + offset);
  }
}

void Kernels::paged_attention(const PagedAttentionArgs& a, float* scratch, int64_t scratch_stride,
                              ThreadPool& pool) const {
  LM_CHECK_EQ(a.num_heads % a.kv.num_kv_heads, 0);
  // Work items: (sequence, KV head, tile of that sequence's queries). A
  // decode step has one tile per sequence and KV head; a long prefill many.
  // Items are enumerated by a flat index so threads balance them.
  int64_t tiles = 0;
  for (int64_t s = 0; s < a.num_seqs; ++s) {
    const int64_t queries = a.query_start[s + 1] - a.query_start[s];
    tiles += (queries + kAttentionQueryTile - 1) / kAttentionQueryTile;
  }
  const int64_t kv_heads = a.kv.num_kv_heads;
  const int64_t items = tiles * kv_heads;
  pool.parallel_for_balanced(items, 1, [&](int64_t begin, int64_t end, int thread) {
    float* thread_scratch = scratch + thread * scratch_stride;
    // Walk to the tile of `begin` once, then step through consecutive items.
    int64_t seq = 0;
    int64_t tile_in_seq = 0;
    int64_t tile = begin / kv_heads;
    int64_t kv_head = begin % kv_heads;
    for (int64_t skipped = 0;;) {
      const int64_t queries = a.query_start[seq + 1] - a.query_start[seq];
      const int64_t seq_tiles = (queries + kAttentionQueryTile - 1) / kAttentionQueryTile;
      if (skipped + seq_tiles > tile) {
        tile_in_seq = tile - skipped;
        break;
      }
      skipped += seq_tiles;
      ++seq;
    }
    for (int64_t item = begin; item < end; ++item) {
      const int64_t q_begin = a.query_start[seq] + tile_in_seq * kAttentionQueryTile;
      const int64_t q_end =
          std::min<int64_t>(q_begin + kAttentionQueryTile, a.query_start[seq + 1]);
      table_.paged_attention(a, seq, kv_head, q_begin, q_end, thread_scratch);
      if (++kv_head == kv_heads) {
        kv_head = 0;
        if (q_end == a.query_start[seq + 1]) {
          tile_in_seq = 0;
          do {
            ++seq;
          } while (seq < a.num_seqs && a.query_start[seq + 1] == a.query_start[seq]);
        } else {
          ++tile_in_seq;
        }
      }
    }
  });
}

int64_t paged_attention_scratch_floats(int64_t num_heads, int64_t num_kv_heads, int64_t head_dim,
                                       int64_t block_size, int64_t max_context) {
  const int64_t rows = kAttentionQueryTile * (num_heads / num_kv_heads);
  // The reference: one score per key. The tiled kernel: accumulators, running
  // max and sum per query row, one block of K and V widened to f32, and the
  // scores of one block per row.
  const int64_t reference = max_context;
  const int64_t tiled = rows * head_dim + 2 * rows + 2 * block_size * head_dim + rows * block_size;
  return std::max(reference, tiled) + 16;  // + 16: room to align each thread's slice
}

// ---- sampling helpers --------------------------------------------------------

int64_t Kernels::argmax(const float* x, int64_t n) const {
  LM_CHECK_GT(n, 0);
  return table_.argmax(x, n);
}

}  // namespace localmoe::kernels
