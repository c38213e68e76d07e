// The BF16 GEMMs, the AVX512-BF16 dot product (kernels/x86/gemm_avx512bf16.cpp)
// and AMX tiles (kernels/x86/gemm_amx_bf16.cpp), called directly and through
// their variants, against the generic reference: uneven shapes within the
// tolerance of activations rounded to BF16, and bit for bit where that
// rounding changes nothing. Each is skipped on CPUs without its instructions.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "kernels/matmul_test_util.h"
#include "localmoe/base/cpu_features.h"
#include "localmoe/kernels/kernels.h"
#include "localmoe/kernels/x86/gemm_amx_bf16.h"
#include "localmoe/kernels/x86/gemm_avx512bf16.h"

namespace localmoe::kernels {
namespace {

struct Bf16Gemm {
  const char* variant;  // the variant whose BF16 GEMM `entry` is
  MatmulBlockFn entry;
  int64_t min_tokens;  // from how many tokens on the variant's products use it
  const char* needs;   // what the CPU needs for it, for the skip message
};

class Bf16GemmTest : public ::testing::TestWithParam<Bf16Gemm> {
 protected:
  void SetUp() override {
    const std::vector<std::string> names = Kernels::available();
    if (std::find(names.begin(), names.end(), GetParam().variant) == names.end()) {
      GTEST_SKIP() << GetParam().variant << " is not available here (needs " << GetParam().needs
                   << " and Highway's AVX3 target); CPU: " << cpu_features().describe();
    }
    bf16_.emplace(Kernels::select(GetParam().variant));
  }

  void gemm(const Weight& w, const float* x, int64_t token_begin, int64_t token_end,
            int64_t row_begin, int64_t row_end, float* y, int64_t ldy, bool reuse_packed_x) {
    GetParam().entry(w, x, token_begin, token_end, row_begin, row_end, y, ldy, reuse_packed_x);
  }

  std::optional<Kernels> bf16_;
  const Kernels reference_ = Kernels::select("generic");
  std::mt19937 rng_{2024};
};

struct Shape {
  int64_t rows, cols;
};

// Rows that are not a multiple of any tile (12, 16) or row block (96, 192),
// features that are odd or not a multiple of 32 (a packed step or an AMX
// step) or of 256 (a feature block), and one of each that is.
constexpr Shape kShapes[] = {{37, 67}, {13, 300}, {100, 33}, {5, 517},
                             {50, 1},  {24, 512}, {211, 40}};

std::vector<int64_t> token_counts() {
  std::vector<int64_t> counts;
  for (int64_t t = 1; t <= 40; ++t) counts.push_back(t);
  for (int64_t t : {100, 128, 129, 300}) counts.push_back(t);
  return counts;
}

// |y - reference| within both products' distance from the float64 result:
// the dot product's with x rounded to BF16, the reference's without.
void expect_close(const std::vector<float>& y, const std::vector<float>& reference,
                  const StoredMatrix& w, const std::vector<float>& x, int64_t tokens, int64_t ldy,
                  const std::string& label) {
  const int64_t rows = w.weight.rows, cols = w.weight.cols;
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t n = 0; n < rows; ++n) {
      double magnitude = 0;
      for (int64_t k = 0; k < cols; ++k) {
        magnitude += std::abs(w.values[n * cols + k] * x[t * cols + k]);
      }
      const double tolerance = matmul_tolerance(magnitude, /*rounds_x_to_bf16=*/true) +
                               matmul_tolerance(magnitude, /*rounds_x_to_bf16=*/false);
      ASSERT_NEAR(y[t * ldy + n], reference[t * ldy + n], tolerance)
          << label << " t=" << t << " n=" << n;
    }
    for (int64_t n = rows; n < ldy; ++n) ASSERT_EQ(y[t * ldy + n], -7.0f) << label;
  }
}

// The GEMM entry itself, at every token count from 1 (matmul sends the dot
// product only 8 and more, AMX 2 and more), over sub-ranges of tokens and
// rows as matmul.cpp's work items are.
TEST_P(Bf16GemmTest, EntryMatchesReferenceOnUnevenShapes) {
  ThreadPool pool(1);
  for (const Shape& s : kShapes) {
    const StoredMatrix w =
        store(random_vector(rng_, s.rows * s.cols), s.rows, s.cols, DType::kBF16);
    for (int64_t tokens : token_counts()) {
      const std::vector<float> x = random_vector(rng_, tokens * s.cols);
      const int64_t ldy = s.rows + 3;
      std::vector<float> y(tokens * ldy, -7.0f), reference(tokens * ldy, -7.0f);
      reference_.matmul(w.weight, x.data(), tokens, reference.data(), ldy, pool);
      // Rows and tokens in two parts each; the second call over the same
      // tokens reuses their packing.
      const int64_t row_split = s.rows / 2, token_split = tokens / 3;
      for (auto [t0, t1] : {std::pair{int64_t{0}, token_split}, std::pair{token_split, tokens}}) {
        if (t0 == t1) continue;
        gemm(w.weight, x.data(), t0, t1, 0, row_split, y.data(), ldy,
             /*reuse_packed_x=*/false);
        gemm(w.weight, x.data(), t0, t1, row_split, s.rows, y.data(), ldy,
             /*reuse_packed_x=*/t1 - t0 <= 128);
      }
      expect_close(y, reference, w, x, tokens, ldy,
                   "rows=" + std::to_string(s.rows) + " cols=" + std::to_string(s.cols) +
                       " tokens=" + std::to_string(tokens));
    }
  }
}

TEST_P(Bf16GemmTest, VariantMatchesReferenceOnUnevenShapes) {
  for (int threads : {1, 2}) {
    ThreadPool pool(threads);
    for (const Shape& s : kShapes) {
      const StoredMatrix w =
          store(random_vector(rng_, s.rows * s.cols), s.rows, s.cols, DType::kBF16);
      for (int64_t tokens : token_counts()) {
        EXPECT_EQ(bf16_->matmul_rounds_x_to_bf16(WeightFormat::kBF16, tokens),
                  tokens >= GetParam().min_tokens);
        const std::vector<float> x = random_vector(rng_, tokens * s.cols);
        const int64_t ldy = s.rows + 3;
        std::vector<float> y(tokens * ldy, -7.0f), reference(tokens * ldy, -7.0f);
        bf16_->matmul(w.weight, x.data(), tokens, y.data(), ldy, pool);
        reference_.matmul(w.weight, x.data(), tokens, reference.data(), ldy, pool);
        expect_close(y, reference, w, x, tokens, ldy,
                     "rows=" + std::to_string(s.rows) + " cols=" + std::to_string(s.cols) +
                         " tokens=" + std::to_string(tokens) +
                         " threads=" + std::to_string(threads));
      }
    }
  }
}

// Activations BF16 holds exactly, and small integers as weights and
// activations: every product and partial sum is then exact in f32, in any
// order, so the GEMM must equal the reference bit for bit. 4097 and 2080
// features span several AMX chunks of 2048, padded and read in place.
TEST_P(Bf16GemmTest, ExactWhereRoundingChangesNothing) {
  ThreadPool pool(2);
  std::uniform_int_distribution<int> small(-8, 8);
  for (Shape s : {kShapes[0], kShapes[3], kShapes[4], Shape{29, 4097}, Shape{48, 2080}}) {
    std::vector<float> w_values(s.rows * s.cols);
    for (float& v : w_values) v = static_cast<float>(small(rng_));
    const StoredMatrix w = store(w_values, s.rows, s.cols, DType::kBF16);
    for (int64_t tokens : {1, 8, 16, 17, 33, 40, 129}) {
      std::vector<float> x(tokens * s.cols);
      for (float& v : x) v = 0.25f * static_cast<float>(small(rng_));
      std::vector<float> y(tokens * s.rows), reference(tokens * s.rows);
      gemm(w.weight, x.data(), 0, tokens, 0, s.rows, y.data(), s.rows,
           /*reuse_packed_x=*/false);
      reference_.matmul(w.weight, x.data(), tokens, reference.data(), s.rows, pool);
      EXPECT_EQ(y, reference) << "rows=" << s.rows << " cols=" << s.cols << " tokens=" << tokens;
      bf16_->matmul(w.weight, x.data(), tokens, y.data(), s.rows, pool);
      EXPECT_EQ(y, reference) << "variant, rows=" << s.rows << " cols=" << s.cols
                              << " tokens=" << tokens;
    }
  }
}

// Random activations already in BF16: the exact variants' tolerance holds.
TEST_P(Bf16GemmTest, Bf16ActivationsKeepTheExactTolerance) {
  ThreadPool pool(2);
  for (const Shape& s : kShapes) {
    const StoredMatrix w =
        store(random_vector(rng_, s.rows * s.cols), s.rows, s.cols, DType::kBF16);
    for (int64_t tokens : {9, 32, 129}) {
      std::vector<float> x = random_vector(rng_, tokens * s.cols);
      for (float& v : x) v = bf16_to_f32(f32_to_bf16(v));
      std::vector<float> y(tokens * s.rows);
      bf16_->matmul(w.weight, x.data(), tokens, y.data(), s.rows, pool);
      for (int64_t t = 0; t < tokens; ++t) {
        for (int64_t n = 0; n < s.rows; ++n) {
          double expected = 0, magnitude = 0;
          for (int64_t k = 0; k < s.cols; ++k) {
            expected += w.values[n * s.cols + k] * x[t * s.cols + k];
            magnitude += std::abs(w.values[n * s.cols + k] * x[t * s.cols + k]);
          }
          ASSERT_NEAR(y[t * s.rows + n], expected,
                      matmul_tolerance(magnitude, /*rounds_x_to_bf16=*/false))
              << "rows=" << s.rows << " cols=" << s.cols << " tokens=" << tokens;
        }
      }
    }
  }
}

// F32 and BF16 targets in one matmul_many go to two GEMMs that pack tokens
// differently: neither may reuse the other's packing.
TEST_P(Bf16GemmTest, MatmulManyAcrossFormatsPacksForEachGemm) {
  ThreadPool pool(2);
  const int64_t cols = 70;
  const StoredMatrix a = store(random_vector(rng_, 30 * cols), 30, cols, DType::kF32);
  const StoredMatrix b = store(random_vector(rng_, 50 * cols), 50, cols, DType::kBF16);
  const StoredMatrix c = store(random_vector(rng_, 20 * cols), 20, cols, DType::kF32);
  for (int64_t tokens : {20, 130}) {
    const std::vector<float> x = random_vector(rng_, tokens * cols);
    std::vector<float> ya(tokens * 30), yb(tokens * 50), yc(tokens * 20);
    std::vector<float> ya_ref(ya.size()), yb_ref(yb.size()), yc_ref(yc.size());
    const MatmulTarget targets[] = {
        {&a.weight, ya.data(), 30}, {&b.weight, yb.data(), 50}, {&c.weight, yc.data(), 20}};
    bf16_->matmul_many(targets, x.data(), tokens, pool);
    bf16_->matmul(a.weight, x.data(), tokens, ya_ref.data(), 30, pool);
    bf16_->matmul(b.weight, x.data(), tokens, yb_ref.data(), 50, pool);
    bf16_->matmul(c.weight, x.data(), tokens, yc_ref.data(), 20, pool);
    EXPECT_EQ(ya, ya_ref) << tokens;
    EXPECT_EQ(yb, yb_ref) << tokens;
    EXPECT_EQ(yc, yc_ref) << tokens;
  }
}

TEST_P(Bf16GemmTest, OnlyTheBf16GemmsRound) {
  EXPECT_TRUE(bf16_->has_bf16_gemm_probe());
  const std::string prefetching =
      std::string("AVX3_PREFETCH") + std::string(GetParam().variant).substr(4);
  const int64_t min_tokens = GetParam().min_tokens;
  EXPECT_TRUE(
      Kernels::select(prefetching).matmul_rounds_x_to_bf16(WeightFormat::kBF16, min_tokens));
  EXPECT_FALSE(bf16_->matmul_rounds_x_to_bf16(WeightFormat::kBF16, min_tokens - 1));
  EXPECT_FALSE(bf16_->matmul_rounds_x_to_bf16(WeightFormat::kBF16, 1));
  EXPECT_FALSE(bf16_->matmul_rounds_x_to_bf16(WeightFormat::kF32, 512));
  EXPECT_FALSE(bf16_->matmul_rounds_x_to_bf16(WeightFormat::kF16, 512));
  for (const char* exact : {"AVX3", "AVX3_PREFETCH", "generic"}) {
    const Kernels k = Kernels::select(exact);
    EXPECT_FALSE(k.matmul_rounds_x_to_bf16(WeightFormat::kBF16, 512)) << exact;
    EXPECT_FALSE(k.has_bf16_gemm_probe()) << exact;
  }
}

TEST_P(Bf16GemmTest, PeakProbeCountsItsOperations) {
  const double flops = bf16_->bf16_gemm_peak_probe(1000);
  // At least one instruction per iteration, of 16 lanes x 2 multiply-adds.
  EXPECT_GE(flops, 4.0 * 16 * 1000);
  EXPECT_EQ(std::fmod(flops, 4.0 * 16 * 1000), 0.0);
}

INSTANTIATE_TEST_SUITE_P(BothGemms, Bf16GemmTest,
                         ::testing::Values(Bf16Gemm{"AVX3_BF16", gemm_bf16_dot, kGemmMinTokens,
                                                    "avx512bf16, avx512bw, avx512vl"},
                                           Bf16Gemm{
                                               "AVX3_AMX", gemm_bf16_amx, kAmxMinTokens,
                                               "amx-bf16 with Linux's permission and AVX512-BF16"}),
                         [](const auto& info) { return std::string(info.param.variant); });

// Where the CPU has AMX, "best" multiplies BF16 weights on it.
TEST(Bf16GemmVariants, BestUsesAmxWhereAvailable) {
  const std::vector<std::string> names = Kernels::available();
  if (std::find(names.begin(), names.end(), "AVX3_AMX") == names.end()) {
    GTEST_SKIP() << "no AMX-BF16 here; CPU: " << cpu_features().describe();
  }
  const std::string best = Kernels::select("best").name();
  EXPECT_TRUE(best == "AVX3_AMX" || best == "AVX3_PREFETCH_AMX") << best;
}

}  // namespace
}  // namespace localmoe::kernels
