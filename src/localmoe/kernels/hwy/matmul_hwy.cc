// Matrix-vector products with weights in their stored dtype (F32, F16,
// BF16), compiled once per Highway target. Decode is bound by memory
// bandwidth: each weight byte is read exactly once, in one sequential stream
// per thread while x stays in L1. Products over several tokens are the GEMM's
// (gemm_hwy.cc).

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "localmoe/kernels/hwy/matmul_hwy.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <bit>
#include <cstdint>
#include <type_traits>

#include "hwy/highway.h"
#include "localmoe/base/error.h"
#include "localmoe/base/tensor.h"
#include "localmoe/kernels/hwy/highway_dispatch.h"
#include "localmoe/kernels/hwy/widen-inl.h"
#include "localmoe/kernels/kernel_table.h"

HWY_BEFORE_NAMESPACE();
namespace localmoe::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;

// ---- decode: matrix-vector products ------------------------------------------
//
// A batch-1 product reads each weight once, so it should stream at DRAM
// speed. Three things keep it there:
// - Rows are walked in order, one sequential stream per thread: the pattern
//   hardware prefetchers serve best (interleaving several rows makes several
//   short streams, a page each, and loses half the bandwidth).
// - Few instructions per cache line. The core keeps only so many loads in
//   flight, and every instruction waiting on a missed line takes a slot in
//   the out-of-order window. BF16 widened with a zero-extending shuffle and a
//   shift per 16 weights can instead be loaded 64 bytes at a time as 32-bit
//   lanes: the even weight of each lane is `lane << 16`, the odd one
//   `lane & 0xFFFF0000`, each already an f32, against an x whose even and odd
//   features were separated once per call.
// - A software prefetch a page ahead of the loads, one per cache line, for
//   CPUs whose hardware prefetchers alone leave the stream short of the
//   line-fill limit.
// The last two go together, as one DecodeStream: on Sapphire Rapids they
// took a 2048-wide BF16 product from 64% to 95% of a plain sum's bandwidth,
// while on Zen 4 each measured slower than plain widening without prefetch.
// kernels.cpp chooses per CPU.

// How a decode product streams its weights: one per kernel table.
struct DecodeStream {
  int64_t prefetch_bytes;  // software prefetch distance; 0 = hardware prefetchers alone
  bool bf16_even_odd;      // BF16 as 32-bit lanes split even/odd, else widened to f32
};
constexpr DecodeStream kHardwarePrefetchedStream{/*prefetch_bytes=*/0, /*bf16_even_odd=*/false};
// 4 KiB: a page, the reach at which the product matched a plain sum on
// Sapphire Rapids (1 and 2 KiB fell short, 8 and 16 KiB no better).
constexpr DecodeStream kSoftwarePrefetchedStream{/*prefetch_bytes=*/4096, /*bf16_even_odd=*/true};

// x's features in the order the even/odd BF16 product consumes them: in each
// block of 2 * lanes features, the even ones, then the odd ones. It lives on
// the stack, so it is bounded (128 KiB); wider inputs take the widening
// product.
constexpr int64_t kMaxEvenOddCols = 32768;

// Software prefetch for the stream at p, kStream.prefetch_bytes ahead, one per
// line of the bytes this iteration loads. Into L2, not L1 (locality 2 is
// prefetcht1 on x86): with two threads streaming, prefetching into L1 reached
// 83-87% of a plain sum's bandwidth, into L2 92-94%.
template <DecodeStream kStream, size_t kIterationBytes>
HWY_INLINE void prefetch_ahead(const void* p) {
  if constexpr (kStream.prefetch_bytes > 0) {
    const char* ahead = static_cast<const char*>(p) + kStream.prefetch_bytes;
    for (size_t line = 0; line < kIterationBytes; line += 64) {
      __builtin_prefetch(ahead + line, /*rw=*/0, /*locality=*/2);
    }
  }
}

// Blocks of 2 * lanes features, reordered as the even/odd product reads them;
// returns the number of features so covered (the rest is a scalar tail).
HWY_INLINE int64_t split_even_odd(const float* x, int64_t cols, float* x_even_odd) {
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(DF()));
  const int64_t covered = cols / (2 * lanes) * (2 * lanes);
  for (int64_t b = 0; b < covered; b += 2 * lanes) {
    for (int64_t i = 0; i < lanes; ++i) {
      x_even_odd[b + i] = x[b + 2 * i];
      x_even_odd[b + lanes + i] = x[b + 2 * i + 1];
    }
  }
  return covered;
}

// One BF16 row against x split by split_even_odd over its first `covered`
// features; four accumulators hide the FMA latency.
template <DecodeStream kStream>
HWY_INLINE float gemv_row_bf16_even_odd(const hwy::bfloat16_t* row, int64_t cols, int64_t covered,
                                        const float* x_even_odd, const float* x) {
  const DF df;
  const hn::RebindToUnsigned<DF> du;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  const auto odd_mask = hn::Set(du, 0xFFFF0000u);
  const auto lanes_at = [&](int64_t k) {
    return hn::LoadU(du, reinterpret_cast<const uint32_t*>(row + k));
  };
  hn::Vec<DF> a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
  int64_t k = 0;
  for (; k + 4 * lanes <= covered; k += 4 * lanes) {
    prefetch_ahead<kStream, 4 * hn::MaxLanes(DF()) * sizeof(uint16_t)>(row + k);
    const auto v0 = lanes_at(k);
    const auto v1 = lanes_at(k + 2 * lanes);
    a0 = hn::MulAdd(hn::BitCast(df, hn::ShiftLeft<16>(v0)), hn::LoadU(df, x_even_odd + k), a0);
    a1 = hn::MulAdd(hn::BitCast(df, hn::And(v0, odd_mask)), hn::LoadU(df, x_even_odd + k + lanes),
                    a1);
    a2 = hn::MulAdd(hn::BitCast(df, hn::ShiftLeft<16>(v1)),
                    hn::LoadU(df, x_even_odd + k + 2 * lanes), a2);
    a3 = hn::MulAdd(hn::BitCast(df, hn::And(v1, odd_mask)),
                    hn::LoadU(df, x_even_odd + k + 3 * lanes), a3);
  }
  for (; k < covered; k += 2 * lanes) {
    const auto v = lanes_at(k);
    a0 = hn::MulAdd(hn::BitCast(df, hn::ShiftLeft<16>(v)), hn::LoadU(df, x_even_odd + k), a0);
    a1 = hn::MulAdd(hn::BitCast(df, hn::And(v, odd_mask)), hn::LoadU(df, x_even_odd + k + lanes),
                    a1);
  }
  float sum = hn::GetLane(hn::SumOfLanes(df, hn::Add(hn::Add(a0, a1), hn::Add(a2, a3))));
  for (; k < cols; ++k) sum += scalar_as_f32(row[k]) * x[k];
  return sum;
}

// One row of any stored dtype, widened to f32 a vector at a time.
template <DecodeStream kStream, typename W>
HWY_INLINE float gemv_row(const W* row, int64_t cols, const float* x) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  hn::Vec<DF> a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
  int64_t k = 0;
  for (; k + 4 * lanes <= cols; k += 4 * lanes) {
    prefetch_ahead<kStream, 4 * hn::MaxLanes(DF()) * sizeof(W)>(row + k);
    a0 = hn::MulAdd(load_as_f32(df, row + k), hn::LoadU(df, x + k), a0);
    a1 = hn::MulAdd(load_as_f32(df, row + k + lanes), hn::LoadU(df, x + k + lanes), a1);
    a2 = hn::MulAdd(load_as_f32(df, row + k + 2 * lanes), hn::LoadU(df, x + k + 2 * lanes), a2);
    a3 = hn::MulAdd(load_as_f32(df, row + k + 3 * lanes), hn::LoadU(df, x + k + 3 * lanes), a3);
  }
  for (; k + lanes <= cols; k += lanes) {
    a0 = hn::MulAdd(load_as_f32(df, row + k), hn::LoadU(df, x + k), a0);
  }
  float sum = hn::GetLane(hn::SumOfLanes(df, hn::Add(hn::Add(a0, a1), hn::Add(a2, a3))));
  for (; k < cols; ++k) sum += scalar_as_f32(row[k]) * x[k];
  return sum;
}

template <DecodeStream kStream, typename W>
void gemv_rows(const W* w, int64_t cols, const float* x, int64_t row_begin, int64_t row_end,
               float* y) {
  if constexpr (kStream.bf16_even_odd && std::is_same_v<W, hwy::bfloat16_t>) {
    if (cols <= kMaxEvenOddCols) {
      HWY_ALIGN float x_even_odd[kMaxEvenOddCols];
      const int64_t covered = split_even_odd(x, cols, x_even_odd);
      for (int64_t n = row_begin; n < row_end; ++n) {
        y[n] = gemv_row_bf16_even_odd<kStream>(w + n * cols, cols, covered, x_even_odd, x);
      }
      return;
    }
  }
  for (int64_t n = row_begin; n < row_end; ++n) y[n] = gemv_row<kStream>(w + n * cols, cols, x);
}

// ---- a few tokens: the same stream, each weight used by every token --------
//
// Two to four tokens (small decode batches) keep decode's access pattern,
// rows in order in one sequential stream per thread, and apply each loaded
// weight vector to every token: the weights are read once, and the product
// stays bound by their stream rather than by broadcasts (the GEMM's
// register tiles, gemm_hwy.cc, spend one broadcast per weight per vector of
// tokens, mostly idle lanes at this size). Two accumulators per token cover
// the FMA latency.
constexpr int64_t kMaxStreamTokens = 4;

template <DecodeStream kStream, int kTokens, typename W>
HWY_INLINE void gemv_row_tokens(const W* row, int64_t cols, const float* x, float* y, int64_t ldy) {
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  hn::Vec<DF> a0[kTokens], a1[kTokens];
  for (int t = 0; t < kTokens; ++t) a0[t] = a1[t] = hn::Zero(df);
  int64_t k = 0;
  for (; k + 2 * lanes <= cols; k += 2 * lanes) {
    prefetch_ahead<kStream, 2 * hn::MaxLanes(DF()) * sizeof(W)>(row + k);
    const hn::Vec<DF> w0 = load_as_f32(df, row + k);
    const hn::Vec<DF> w1 = load_as_f32(df, row + k + lanes);
    for (int t = 0; t < kTokens; ++t) {
      a0[t] = hn::MulAdd(w0, hn::LoadU(df, x + t * cols + k), a0[t]);
      a1[t] = hn::MulAdd(w1, hn::LoadU(df, x + t * cols + k + lanes), a1[t]);
    }
  }
  for (; k + lanes <= cols; k += lanes) {
    const hn::Vec<DF> w0 = load_as_f32(df, row + k);
    for (int t = 0; t < kTokens; ++t)
      a0[t] = hn::MulAdd(w0, hn::LoadU(df, x + t * cols + k), a0[t]);
  }
  for (int t = 0; t < kTokens; ++t) {
    float sum = hn::GetLane(hn::SumOfLanes(df, hn::Add(a0[t], a1[t])));
    for (int64_t kk = k; kk < cols; ++kk) sum += scalar_as_f32(row[kk]) * x[t * cols + kk];
    y[t * ldy] = sum;
  }
}

template <DecodeStream kStream, int kTokens, typename W>
void gemv_rows_tokens(const W* w, int64_t cols, const float* x, int64_t row_begin, int64_t row_end,
                      float* y, int64_t ldy) {
  for (int64_t n = row_begin; n < row_end; ++n) {
    gemv_row_tokens<kStream, kTokens>(w + n * cols, cols, x, y + n, ldy);
  }
}

// One token is decode's product; more go through in passes of up to four
// (matmul.cpp sends batches beyond that to the GEMM).
template <DecodeStream kStream, typename W>
void matmul_rows_typed(const W* w, int64_t cols, const float* x, int64_t num_tokens,
                       int64_t row_begin, int64_t row_end, float* y, int64_t ldy) {
  if (num_tokens == 1) return gemv_rows<kStream>(w, cols, x, row_begin, row_end, y);
  for (int64_t t = 0; t < num_tokens; t += kMaxStreamTokens) {
    const float* xt = x + t * cols;
    float* yt = y + t * ldy;
    switch (std::min(kMaxStreamTokens, num_tokens - t)) {
      case 1: gemv_rows<kStream>(w, cols, xt, row_begin, row_end, yt); break;
      case 2: gemv_rows_tokens<kStream, 2>(w, cols, xt, row_begin, row_end, yt, ldy); break;
      case 3: gemv_rows_tokens<kStream, 3>(w, cols, xt, row_begin, row_end, yt, ldy); break;
      default: gemv_rows_tokens<kStream, 4>(w, cols, xt, row_begin, row_end, yt, ldy); break;
    }
  }
}

template <DecodeStream kStream, typename W>
void MatmulRowsAs(const Weight& w, const float* x, int64_t num_tokens, int64_t row_begin,
                  int64_t row_end, float* y, int64_t ldy) {
  matmul_rows_typed<kStream>(static_cast<const W*>(w.data), w.cols, x, num_tokens, row_begin,
                             row_end, y, ldy);
}

template <DecodeStream kStream>
void fill_matmul_entries(KernelTable& table) {
  table.matmul_rows[static_cast<int>(WeightFormat::kF32)] = MatmulRowsAs<kStream, float>;
  table.matmul_rows[static_cast<int>(WeightFormat::kF16)] = MatmulRowsAs<kStream, hwy::float16_t>;
  table.matmul_rows[static_cast<int>(WeightFormat::kBF16)] = MatmulRowsAs<kStream, hwy::bfloat16_t>;
}

// gemm_hwy.cc, compiled for the same targets.
void FillGemm(KernelTable& table);

void FillMatmul(KernelTable& table, bool prefetching) {
  FillGemm(table);
  if (prefetching) {
    fill_matmul_entries<kSoftwarePrefetchedStream>(table);
  } else {
    fill_matmul_entries<kHardwarePrefetchedStream>(table);
  }
}

}  // namespace localmoe::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace localmoe::kernels {
HWY_EXPORT(FillMatmul);

void fill_highway_matmul(int64_t target, bool prefetching, KernelTable& table) {
  HWY_DISPATCH_TABLE(FillMatmul)[highway_dispatch_index(target)](table, prefetching);
}
}  // namespace localmoe::kernels
#endif
