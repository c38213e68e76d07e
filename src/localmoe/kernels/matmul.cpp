// The matrix products' split across the thread pool, for every variant.
//
// Up to a few tokens (decode, small batches) the product is bound by memory
// bandwidth: threads take chunks of the stacked rows of all targets as they
// finish, each chunk one long sequential stream of weights (matmul_rows).
// From the table's matmul_block_min_tokens on it goes to the variant's GEMM
// (matmul_block) in work
// items of (rows, tokens): each weight is read once per item, and tokens
// split too when there are many of them, so both dimensions feed the
// threads.

#include <algorithm>

#include "localmoe/base/error.h"
#include "localmoe/kernels/kernels.h"

namespace localmoe::kernels {
namespace {

// Rows are split in multiples of this, the matrix-vector product's row tile.
constexpr int64_t kRowGrain = 4;
// A GEMM work item's rows are a multiple of this (the f32 GEMM's tiles are
// 6, 12 or 24 rows, AMX's 16 or 32: a row tail there reads a padded copy),
// and at most kItemMaxRows; its tokens at most the table's
// matmul_block_tokens for the targets' formats.
constexpr int64_t kItemRowGrain = 48;
constexpr int64_t kItemMaxRows = 192;
// Work items per thread to aim for, so that threads which progress unevenly
// (a shared core, a busy memory bus) even out.
constexpr int64_t kItemsPerThread = 8;
// Threads whose last packed token block is tracked (on the stack).
constexpr int kMaxThreads = 256;

// Calls body(target, lo, hi) for the part of stacked rows [begin, end) that
// falls into each target, in target-local rows.
template <typename Body>
void for_each_target_rows(std::span<const MatmulTarget> targets, int64_t begin, int64_t end,
                          Body&& body) {
  int64_t offset = 0;
  for (const MatmulTarget& target : targets) {
    const int64_t rows = target.w->rows;
    const int64_t lo = std::max(begin, offset) - offset;
    const int64_t hi = std::min(end, offset + rows) - offset;
    if (lo < hi) body(target, lo, hi);
    offset += rows;
  }
}

}  // namespace

bool Kernels::matmul_rounds_x_to_bf16(WeightFormat format, int64_t num_tokens) const {
  const int f = static_cast<int>(format);
  return num_tokens >= table_.matmul_block_min_tokens[f] && table_.matmul_block[f] != nullptr &&
         table_.matmul_block_rounds_x_to_bf16[f];
}

void Kernels::matmul(const Weight& w, const float* x, int64_t num_tokens, float* y, int64_t ldy,
                     ThreadPool& pool) const {
  const MatmulTarget target{&w, y, ldy};
  matmul_many({&target, 1}, x, num_tokens, pool);
}

void Kernels::matmul_many(std::span<const MatmulTarget> targets, const float* x, int64_t num_tokens,
                          ThreadPool& pool) const {
  int64_t total_rows = 0;
  bool have_gemm = true;
  int64_t item_tokens = num_tokens;
  for (const MatmulTarget& target : targets) {
    LM_CHECK_EQ(target.w->cols, targets[0].w->cols);
    LM_CHECK_GE(target.ldy, target.w->rows);
    total_rows += target.w->rows;
    const int format = static_cast<int>(target.w->format);
    have_gemm = have_gemm && table_.matmul_block[format] != nullptr &&
                num_tokens >= table_.matmul_block_min_tokens[format];
    item_tokens = std::min(item_tokens, table_.matmul_block_tokens[format]);
  }
  if (!have_gemm) {
    pool.parallel_for_balanced(total_rows, kRowGrain, [&](int64_t begin, int64_t end, int) {
      for_each_target_rows(targets, begin, end, [&](const MatmulTarget& t, int64_t lo, int64_t hi) {
        table_.matmul_rows[static_cast<int>(t.w->format)](*t.w, x, num_tokens, lo, hi, t.y, t.ldy);
      });
    });
    return;
  }
  const int64_t token_blocks = (num_tokens + item_tokens - 1) / item_tokens;
  const int64_t wanted_items = int64_t{pool.num_threads()} * kItemsPerThread;
  const int64_t wanted_row_blocks = std::max<int64_t>(1, wanted_items / token_blocks);
  int64_t item_rows = (total_rows + wanted_row_blocks - 1) / wanted_row_blocks;
  item_rows = (item_rows + kItemRowGrain - 1) / kItemRowGrain * kItemRowGrain;
  item_rows = std::min(item_rows, kItemMaxRows);
  const int64_t row_blocks = (total_rows + item_rows - 1) / item_rows;
  // The token block each thread packed last, and the GEMM that packed it:
  // its next item on the same block and GEMM reuses the packing, whichever
  // rows or target it covers. (Targets of different formats may go to GEMMs
  // with different packings.)
  LM_CHECK_LE(pool.num_threads(), kMaxThreads);
  int64_t packed_block[kMaxThreads];
  MatmulBlockFn packed_by[kMaxThreads];
  std::fill_n(packed_block, pool.num_threads(), int64_t{-1});
  std::fill_n(packed_by, pool.num_threads(), nullptr);
  // Items in token-block order, rows inner, so that a thread's consecutive
  // items mostly share their tokens.
  pool.parallel_for_balanced(
      token_blocks * row_blocks, 1, [&](int64_t begin, int64_t end, int thread) {
        for (int64_t item = begin; item < end; ++item) {
          const int64_t token_block = item / row_blocks;
          const int64_t row_begin = item % row_blocks * item_rows;
          const int64_t token_begin = token_block * item_tokens;
          const int64_t token_end = std::min(num_tokens, token_begin + item_tokens);
          for_each_target_rows(targets, row_begin, std::min(total_rows, row_begin + item_rows),
                               [&](const MatmulTarget& t, int64_t lo, int64_t hi) {
                                 const MatmulBlockFn gemm =
                                     table_.matmul_block[static_cast<int>(t.w->format)];
                                 gemm(*t.w, x, token_begin, token_end, lo, hi, t.y, t.ldy,
                                      /*reuse_packed_x=*/packed_block[thread] == token_block &&
                                          packed_by[thread] == gemm);
                                 packed_block[thread] = token_block;
                                 packed_by[thread] = gemm;
                               });
        }
      });
}

}  // namespace localmoe::kernels
