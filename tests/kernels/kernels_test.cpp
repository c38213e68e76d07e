// Every kernel variant against a float64 definition computed here from the
// same stored values, over odd sizes and unaligned tails. One body per
// kernel, instantiated for every variant this CPU runs.

#include "localmoe/kernels/kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/matmul_test_util.h"

namespace localmoe::kernels {
namespace {

class KernelsTest : public ::testing::TestWithParam<std::string> {
 protected:
  const Kernels k = Kernels::select(GetParam());

  std::vector<float> random_vector(int64_t n, float scale = 1.0f) {
    return kernels::random_vector(rng_, n, scale);
  }

  std::mt19937 rng_{1234};
};

TEST_P(KernelsTest, MatmulMatchesFloat64Definition) {
  const std::vector<MatmulCase> cases = matmul_cases();
  for (int threads : {1, 2}) {
    ThreadPool pool(threads);
    for (DType dtype : {DType::kF32, DType::kBF16, DType::kF16}) {
      for (const MatmulCase& c : cases) {
        const StoredMatrix w = store(random_vector(c.rows * c.cols), c.rows, c.cols, dtype);
        const std::vector<float> x = random_vector(c.tokens * c.cols);
        const int64_t ldy = c.rows + 3;  // a row stride wider than the output
        std::vector<float> y(c.tokens * ldy, -7.0f);
        k.matmul(w.weight, x.data(), c.tokens, y.data(), ldy, pool);
        for (int64_t t = 0; t < c.tokens; ++t) {
          for (int64_t n = 0; n < c.rows; ++n) {
            double expected = 0.0, magnitude = 0.0;
            for (int64_t k = 0; k < c.cols; ++k) {
              expected += w.values[n * c.cols + k] * x[t * c.cols + k];
              magnitude += std::abs(w.values[n * c.cols + k] * x[t * c.cols + k]);
            }
            ASSERT_NEAR(
                y[t * ldy + n], expected,
                matmul_tolerance(magnitude, k.matmul_rounds_x_to_bf16(w.weight.format, c.tokens)))
                << dtype_name(dtype) << " rows=" << c.rows << " cols=" << c.cols << " t=" << t
                << " n=" << n << " threads=" << threads;
          }
          for (int64_t n = c.rows; n < ldy; ++n) ASSERT_EQ(y[t * ldy + n], -7.0f);
        }
      }
    }
  }
}

// A one-hot weight row picks one activation: every variant must return it
// bit for bit, whatever order it reads x in (the BF16 decode product reads
// it split into even and odd features, the GEMM packs tokens feature-major)
// and whichever path serves the token count; a product that rounds x to
// BF16 returns the rounded activation.
TEST_P(KernelsTest, MatmulKeepsEveryBitOfTheActivations) {
  ThreadPool pool(2);
  const int64_t cols = 300;
  for (int64_t tokens : {1, 3, 17}) {
    std::vector<float> x = random_vector(tokens * cols);
    for (int64_t t = 0; t < tokens; ++t) {
      x[t * cols + 0] = 0x1.fffffep+3f;   // all 24 significand bits set
      x[t * cols + 1] = -0x1.000002p-7f;  // the lowest bit alone below the leading one
      x[t * cols + 2] = 0x1.555556p-60f;
    }
    for (DType dtype : {DType::kF32, DType::kBF16, DType::kF16}) {
      std::vector<float> w(cols * cols, 0.0f);
      for (int64_t n = 0; n < cols; ++n) w[n * cols + n] = 1.0f;
      const StoredMatrix identity = store(w, cols, cols, dtype);
      std::vector<float> y(tokens * cols);
      k.matmul(identity.weight, x.data(), tokens, y.data(), cols, pool);
      const bool rounds = k.matmul_rounds_x_to_bf16(identity.weight.format, tokens);
      for (int64_t i = 0; i < tokens * cols; ++i) {
        const float expected = rounds ? bf16_to_f32(f32_to_bf16(x[i])) : x[i];
        ASSERT_EQ(y[i], expected) << dtype_name(dtype) << " tokens=" << tokens << " i=" << i;
      }
    }
  }
}

// Bit for bit, on the streaming path (3 tokens) and in the GEMM (20 tokens:
// the packed tokens are reused across the targets of one call).
TEST_P(KernelsTest, MatmulManyEqualsSeparateProducts) {
  ThreadPool pool(2);
  const int64_t cols = 37;
  const StoredMatrix a = store(random_vector(11 * cols), 11, cols, DType::kBF16);
  const StoredMatrix b = store(random_vector(205 * cols), 205, cols, DType::kBF16);
  for (int64_t tokens : {3, 20}) {
    const std::vector<float> x = random_vector(tokens * cols);
    std::vector<float> ya(tokens * 11), yb(tokens * 205), ya_ref(ya.size()), yb_ref(yb.size());
    const MatmulTarget targets[] = {{&a.weight, ya.data(), 11}, {&b.weight, yb.data(), 205}};
    k.matmul_many(targets, x.data(), tokens, pool);
    k.matmul(a.weight, x.data(), tokens, ya_ref.data(), 11, pool);
    k.matmul(b.weight, x.data(), tokens, yb_ref.data(), 205, pool);
    EXPECT_EQ(ya, ya_ref) << tokens;
    EXPECT_EQ(yb, yb_ref) << tokens;
  }
}

TEST_P(KernelsTest, RmsNormAndLayerNorm) {
  for (int64_t dim : {1, 7, 64, 4097}) {
    const std::vector<float> x = random_vector(2 * dim, 3.0f);
    const std::vector<float> w = random_vector(dim);
    const std::vector<float> b = random_vector(dim);
    std::vector<float> rms(2 * dim), ln(2 * dim);
    k.rms_norm(x.data(), w.data(), 1e-5f, 2, dim, rms.data());
    k.layer_norm(x.data(), w.data(), b.data(), 1e-5f, 2, dim, ln.data());
    for (int64_t r = 0; r < 2; ++r) {
      const float* xr = x.data() + r * dim;
      double sum = 0, sum_sq = 0;
      for (int64_t i = 0; i < dim; ++i) sum += xr[i], sum_sq += double(xr[i]) * xr[i];
      const double inv_rms = 1.0 / std::sqrt(sum_sq / dim + 1e-5);
      const double mean = sum / dim;
      double var = 0;
      for (int64_t i = 0; i < dim; ++i) var += (xr[i] - mean) * (xr[i] - mean);
      const double inv_std = 1.0 / std::sqrt(var / dim + 1e-5);
      for (int64_t i = 0; i < dim; ++i) {
        const double rms_expected = xr[i] * inv_rms * w[i];
        const double ln_expected = (xr[i] - mean) * inv_std * w[i] + b[i];
        ASSERT_NEAR(rms[r * dim + i], rms_expected, 1e-5 * (1 + std::abs(rms_expected))) << dim;
        ASSERT_NEAR(ln[r * dim + i], ln_expected, 2e-4 * (1 + std::abs(ln_expected))) << dim;
      }
    }
  }
}

TEST_P(KernelsTest, Activations) {
  for (int64_t n : {1, 7, 33, 4097}) {
    const std::vector<float> g = random_vector(n, 4.0f);
    const std::vector<float> u = random_vector(n);
    std::vector<float> silu(n), gelu(n);
    k.silu_mul(g.data(), u.data(), n, silu.data());
    k.gelu_tanh(g.data(), n, gelu.data());
    for (int64_t i = 0; i < n; ++i) {
      const double gi = g[i];
      const double silu_expected = gi / (1.0 + std::exp(-gi)) * u[i];
      const double gelu_expected =
          0.5 * gi * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (gi + 0.044715 * gi * gi * gi)));
      ASSERT_NEAR(silu[i], silu_expected, 1e-5 * (1 + std::abs(silu_expected))) << i;
      ASSERT_NEAR(gelu[i], gelu_expected, 1e-5 * (1 + std::abs(gelu_expected))) << i;
    }
  }
}

TEST_P(KernelsTest, AddAndBias) {
  for (int64_t n : {1, 7, 4097}) {
    const std::vector<float> x = random_vector(n);
    std::vector<float> y = random_vector(n);
    const std::vector<float> y0 = y;
    k.add(x.data(), n, y.data());
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], y0[i] + x[i]);
    double expected_sum = 0, magnitude = 0;
    for (float v : x) expected_sum += v, magnitude += std::abs(v);
    ASSERT_NEAR(k.sum(x.data(), n), expected_sum, 1e-6 * magnitude) << n;
  }
  std::vector<float> y(2 * 5, 1.0f);
  const float bias[3] = {1, 2, 3};
  k.add_bias(bias, 2, 3, 5, y.data());
  EXPECT_EQ(y, (std::vector<float>{2, 3, 4, 1, 1, 2, 3, 4, 1, 1}));
}

TEST_P(KernelsTest, RopeRotatesHalvesByPositionAngle) {
  // Half widths 4 and 17 (a vector tail) and 64 (whole vectors).
  for (int64_t head_dim : {8, 34, 128}) {
    const int64_t heads = 3, tokens = 2, half = head_dim / 2;
    std::vector<float> x = random_vector(tokens * heads * head_dim);
    const std::vector<float> x0 = x;
    const int32_t positions[tokens] = {0, 1000};
    std::vector<double> inv_freq(half);
    for (int64_t i = 0; i < half; ++i) inv_freq[i] = std::pow(10000.0, -2.0 * i / head_dim);
    k.rope(x.data(), positions, tokens, heads, head_dim, inv_freq.data(), 0.5);
    for (int64_t t = 0; t < tokens; ++t) {
      for (int64_t h = 0; h < heads; ++h) {
        const float* in = x0.data() + (t * heads + h) * head_dim;
        const float* out = x.data() + (t * heads + h) * head_dim;
        for (int64_t i = 0; i < half; ++i) {
          const double angle = positions[t] * 0.5 * inv_freq[i];
          ASSERT_NEAR(out[i], in[i] * std::cos(angle) - in[i + half] * std::sin(angle), 1e-5);
          ASSERT_NEAR(out[i + half], in[i + half] * std::cos(angle) + in[i] * std::sin(angle),
                      1e-5);
        }
      }
    }
  }
}

// A paged cache filled through store_kv, read back by paged_attention, and
// compared with float64 attention over the values the cache holds. The batch
// mixes a decode, a prefill chunk continuing a cached prefix and a whole
// prompt longer than one query tile, over shuffled physical blocks.
struct PagedCase {
  DType kv_dtype;
  int64_t heads, kv_heads, head_dim, block_size, window;
};

TEST_P(KernelsTest, PagedAttentionMatchesFloat64OverMixedBatch) {
  const PagedCase cases[] = {
      {DType::kF32, 4, 2, 5, 4, 0},   {DType::kF32, 4, 2, 5, 4, 6},
      {DType::kBF16, 8, 2, 16, 8, 0}, {DType::kF16, 3, 3, 34, 16, 0},
      {DType::kF32, 6, 1, 64, 16, 9},
  };
  // Per sequence: tokens already cached, then tokens in this step.
  const int64_t cached[] = {13, 5, 0};
  const int64_t fresh[] = {1, 7, 37};
  constexpr int64_t kSeqs = 3;
  for (const PagedCase& c : cases) {
    ThreadPool pool(2);
    const int64_t kv_dim = c.kv_heads * c.head_dim;
    const int64_t blocks_per_seq = (50 + c.block_size - 1) / c.block_size;
    const int64_t num_blocks = kSeqs * blocks_per_seq + 3;
    // Physical blocks handed out in a scrambled order.
    std::vector<int32_t> physical(num_blocks);
    for (int64_t b = 0; b < num_blocks; ++b)
      physical[b] = static_cast<int32_t>((b * 7 + 3) % num_blocks);
    std::vector<int32_t> tables(kSeqs * blocks_per_seq);
    for (int64_t i = 0; i < kSeqs * blocks_per_seq; ++i) tables[i] = physical[i];
    const size_t cache_elements = static_cast<size_t>(num_blocks * c.block_size * kv_dim);
    std::vector<uint8_t> keys(cache_elements * dtype_size(c.kv_dtype));
    std::vector<uint8_t> values(keys.size());
    const PagedKvLayer kv{keys.data(),  values.data(), c.kv_dtype,
                          c.block_size, c.kv_heads,    c.head_dim};
    auto slot_of = [&](int64_t seq, int64_t position) {
      return static_cast<int64_t>(tables[seq * blocks_per_seq + position / c.block_size]) *
                 c.block_size +
             position % c.block_size;
    };
    // Every position's K/V of every sequence, written through store_kv.
    std::vector<int32_t> positions, query_start = {0};
    std::vector<int64_t> step_slots;
    for (int64_t s = 0; s < kSeqs; ++s) {
      const int64_t total = cached[s] + fresh[s];
      const std::vector<float> k_rows = random_vector(total * kv_dim);
      const std::vector<float> v_rows = random_vector(total * kv_dim);
      std::vector<int64_t> slots;
      for (int64_t p = 0; p < total; ++p) slots.push_back(slot_of(s, p));
      k.store_kv(kv, k_rows.data(), v_rows.data(), slots.data(), total);
      for (int64_t p = cached[s]; p < total; ++p) positions.push_back(static_cast<int32_t>(p));
      query_start.push_back(static_cast<int32_t>(positions.size()));
    }
    const int64_t tokens = static_cast<int64_t>(positions.size());
    const std::vector<float> q = random_vector(tokens * c.heads * c.head_dim);
    std::vector<float> out(q.size(), -9.0f);
    const float scale = 1.0f / std::sqrt(float(c.head_dim));
    const PagedAttentionArgs args{
        .q = q.data(),
        .kv = kv,
        .positions = positions.data(),
        .query_start = query_start.data(),
        .num_seqs = kSeqs,
        .block_tables = tables.data(),
        .max_blocks_per_seq = blocks_per_seq,
        .num_heads = c.heads,
        .sliding_window = c.window,
        .scale = scale,
        .out = out.data(),
    };
    const int64_t stride =
        paged_attention_scratch_floats(c.heads, c.kv_heads, c.head_dim, c.block_size, 64);
    std::vector<float> scratch(2 * stride);
    k.paged_attention(args, scratch.data(), stride, pool);

    auto cached_value = [&](const std::vector<uint8_t>& area, int64_t slot, int64_t kvh,
                            int64_t d) {
      return static_cast<double>(load_as_f32(
          area.data(), c.kv_dtype, static_cast<size_t>(slot * kv_dim + kvh * c.head_dim + d)));
    };
    for (int64_t s = 0; s < kSeqs; ++s) {
      for (int64_t t = query_start[s]; t < query_start[s + 1]; ++t) {
        for (int64_t h = 0; h < c.heads; ++h) {
          const int64_t kvh = h / (c.heads / c.kv_heads);
          std::vector<double> p;
          std::vector<int64_t> key_slots;
          for (int64_t j = 0; j <= positions[t]; ++j) {
            if (c.window > 0 && positions[t] - j >= c.window) continue;
            double dot = 0;
            for (int64_t d = 0; d < c.head_dim; ++d) {
              dot += double(q[(t * c.heads + h) * c.head_dim + d]) *
                     cached_value(keys, slot_of(s, j), kvh, d);
            }
            p.push_back(dot * scale);
            key_slots.push_back(slot_of(s, j));
          }
          const double max_s = *std::max_element(p.begin(), p.end());
          double total = 0;
          for (double& v : p) total += (v = std::exp(v - max_s));
          for (int64_t d = 0; d < c.head_dim; ++d) {
            double expected = 0;
            for (size_t i = 0; i < p.size(); ++i) {
              expected += p[i] / total * cached_value(values, key_slots[i], kvh, d);
            }
            ASSERT_NEAR(out[(t * c.heads + h) * c.head_dim + d], expected, 2e-5)
                << dtype_name(c.kv_dtype) << " heads=" << c.heads << "/" << c.kv_heads
                << " window=" << c.window << " seq=" << s << " t=" << t << " h=" << h;
          }
        }
      }
    }
  }
}

// store_kv rounds to the cache's dtype exactly as the scalar conversions do.
TEST_P(KernelsTest, StoreKvRoundsToTheCacheDtype) {
  for (DType dtype : {DType::kF32, DType::kBF16, DType::kF16}) {
    const int64_t kv_dim = 2 * 3, block_size = 4, num_blocks = 3;
    std::vector<uint8_t> keys(num_blocks * block_size * kv_dim * dtype_size(dtype));
    std::vector<uint8_t> values(keys.size());
    const PagedKvLayer kv{keys.data(), values.data(), dtype, block_size, 2, 3};
    const std::vector<float> k_rows = random_vector(2 * kv_dim), v_rows = random_vector(2 * kv_dim);
    const int64_t slots[2] = {9, 2};
    k.store_kv(kv, k_rows.data(), v_rows.data(), slots, 2);
    for (int64_t t = 0; t < 2; ++t) {
      for (int64_t i = 0; i < kv_dim; ++i) {
        const size_t at = static_cast<size_t>(slots[t] * kv_dim + i);
        float expected_k = k_rows[t * kv_dim + i], expected_v = v_rows[t * kv_dim + i];
        if (dtype == DType::kBF16) {
          expected_k = bf16_to_f32(f32_to_bf16(expected_k));
          expected_v = bf16_to_f32(f32_to_bf16(expected_v));
        } else if (dtype == DType::kF16) {
          expected_k = f16_to_f32(f32_to_f16(expected_k));
          expected_v = f16_to_f32(f32_to_f16(expected_v));
        }
        ASSERT_EQ(load_as_f32(keys.data(), dtype, at), expected_k) << dtype_name(dtype);
        ASSERT_EQ(load_as_f32(values.data(), dtype, at), expected_v) << dtype_name(dtype);
      }
    }
  }
}

TEST_P(KernelsTest, EmbeddingConvertsRows) {
  for (DType dtype : {DType::kF32, DType::kBF16, DType::kF16}) {
    for (int64_t dim : {1, 9, 67}) {
      const StoredMatrix table = store(random_vector(6 * dim), 6, dim, dtype);
      const int32_t ids[3] = {5, 0, 5};
      std::vector<float> out(3 * dim);
      k.embedding(table.view, ids, 3, out.data());
      for (int64_t t = 0; t < 3; ++t) {
        for (int64_t i = 0; i < dim; ++i) {
          ASSERT_EQ(out[t * dim + i], table.values[ids[t] * dim + i]) << dtype_name(dtype);
        }
      }
    }
  }
}

TEST_P(KernelsTest, SoftmaxAndArgmaxOverLongRows) {
  for (int64_t n : {1, 7, 4097, 32001}) {
    std::vector<float> x = random_vector(n, 5.0f);
    // The maximum twice, late in the row: the first one must win.
    const int64_t first = n * 3 / 4;
    x[first] = 40.0f;
    x[n - 1] = 40.0f;
    EXPECT_EQ(k.argmax(x.data(), n), n == 1 ? 0 : first) << n;
    double total = 0;
    for (float v : x) total += std::exp(double(v) - 40.0);
    const std::vector<float> logits = x;
    const double normalizer = 40.0 + std::log(total);
    EXPECT_NEAR(k.softmax(x.data(), n), normalizer, 1e-5 * std::abs(normalizer)) << n;
    double mass = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double expected = std::exp(double(logits[i]) - normalizer);
      ASSERT_NEAR(x[i], expected, 1e-5 * expected + 1e-12) << n << " i=" << i;
      mass += x[i];
    }
    EXPECT_NEAR(mass, 1.0, 1e-5) << n;
  }
}

TEST_P(KernelsTest, SoftmaxAndArgmax) {
  float x[4] = {1.0f, 3.0f, 3.0f, -2.0f};
  EXPECT_EQ(k.argmax(x, 4), 1);
  const double normalizer = 3.0 + std::log(std::exp(-2.0) + 2.0 + std::exp(-5.0));
  EXPECT_NEAR(k.softmax(x, 4), normalizer, 1e-6);
  EXPECT_NEAR(x[1], std::exp(0.0 - (normalizer - 3.0)), 1e-6);
  EXPECT_NEAR(x[0] + x[1] + x[2] + x[3], 1.0, 1e-6);
}

TEST_P(KernelsTest, FmaPeakProbeCountsItsOperations) {
  const double flops = k.fma_peak_probe(1000);
  // 2 FLOPs per lane per FMA, some whole number of vector lanes and chains.
  EXPECT_GE(flops, 2.0 * 1000 * 8);
  EXPECT_EQ(std::fmod(flops, 2.0 * 1000), 0.0);
}

INSTANTIATE_TEST_SUITE_P(AllVariants, KernelsTest, ::testing::ValuesIn(Kernels::available()),
                         [](const auto& info) { return info.param; });

TEST(KernelVariants, UnknownVariantIsRejectedWithTheList) {
  try {
    Kernels::select("avx9000");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("kernel variant 'avx9000' is not available on this CPU"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("available: best, "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("generic)"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace localmoe::kernels
