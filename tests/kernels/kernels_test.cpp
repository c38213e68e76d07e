// Every kernel variant against a float64 definition computed here from the
// same stored values, over odd sizes and unaligned tails. One body per
// kernel, instantiated for every variant this CPU runs.

#include "localmoe/kernels/kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace localmoe::kernels {
namespace {

class KernelsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { select_variant(GetParam()); }
  void TearDown() override { select_variant("best"); }

  std::vector<float> random_vector(int64_t n, float scale = 1.0f) {
    std::normal_distribution<float> dist(0.0f, scale);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng_);
    return v;
  }

  std::mt19937 rng_{1234};
};

// Weights stored in `dtype` and their exact f32 values.
struct StoredMatrix {
  std::vector<uint8_t> bytes;
  std::vector<double> values;
  TensorView view;
};

StoredMatrix store(const std::vector<float>& w, int64_t rows, int64_t cols, DType dtype) {
  StoredMatrix m;
  m.bytes.resize(w.size() * dtype_size(dtype));
  m.values.resize(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    switch (dtype) {
      case DType::kF32: std::memcpy(&m.bytes[i * 4], &w[i], 4); break;
      case DType::kBF16: {
        const uint16_t b = f32_to_bf16(w[i]);
        std::memcpy(&m.bytes[i * 2], &b, 2);
        break;
      }
      case DType::kF16: {
        const uint16_t b = f32_to_f16(w[i]);
        std::memcpy(&m.bytes[i * 2], &b, 2);
        break;
      }
      default: ADD_FAILURE() << "unexpected dtype";
    }
    m.values[i] = load_as_f32(m.bytes.data(), dtype, i);
  }
  m.view = TensorView{m.bytes.data(), dtype, Shape{rows, cols}};
  return m;
}

struct MatmulCase {
  int64_t rows, cols, tokens;
};

TEST_P(KernelsTest, MatmulMatchesFloat64Definition) {
  const MatmulCase cases[] = {{1, 1, 1},    {7, 7, 3},    {13, 4097, 5}, {64, 256, 1},
                              {33, 100, 9}, {5, 31, 4},   {4, 16, 2},    {130, 65, 1},
                              {9, 100, 1},  {3, 5000, 1}, {2, 40000, 1}};
  for (int threads : {1, 2}) {
    ThreadPool pool(threads);
    for (DType dtype : {DType::kF32, DType::kBF16, DType::kF16}) {
      for (const MatmulCase& c : cases) {
        const StoredMatrix w = store(random_vector(c.rows * c.cols), c.rows, c.cols, dtype);
        const std::vector<float> x = random_vector(c.tokens * c.cols);
        const int64_t ldy = c.rows + 3;  // a row stride wider than the output
        std::vector<float> y(c.tokens * ldy, -7.0f);
        matmul(w.view, x.data(), c.tokens, y.data(), ldy, pool);
        for (int64_t t = 0; t < c.tokens; ++t) {
          for (int64_t n = 0; n < c.rows; ++n) {
            double expected = 0.0, magnitude = 0.0;
            for (int64_t k = 0; k < c.cols; ++k) {
              expected += w.values[n * c.cols + k] * x[t * c.cols + k];
              magnitude += std::abs(w.values[n * c.cols + k] * x[t * c.cols + k]);
            }
            ASSERT_NEAR(y[t * ldy + n], expected, 2e-6 * magnitude + 1e-6)
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
// it split into even and odd features).
TEST_P(KernelsTest, MatmulKeepsEveryBitOfTheActivations) {
  ThreadPool pool(2);
  const int64_t cols = 300;
  std::vector<float> x = random_vector(cols);
  x[0] = 0x1.fffffep+3f;   // all 24 significand bits set
  x[1] = -0x1.000002p-7f;  // the lowest bit alone below the leading one
  x[2] = 0x1.555556p-60f;
  for (DType dtype : {DType::kF32, DType::kBF16, DType::kF16}) {
    std::vector<float> w(cols * cols, 0.0f);
    for (int64_t n = 0; n < cols; ++n) w[n * cols + n] = 1.0f;
    const StoredMatrix identity = store(w, cols, cols, dtype);
    std::vector<float> y(cols);
    matmul(identity.view, x.data(), 1, y.data(), cols, pool);
    for (int64_t n = 0; n < cols; ++n) {
      ASSERT_EQ(y[n], x[n]) << dtype_name(dtype) << " n=" << n;
    }
  }
}

TEST_P(KernelsTest, MatmulManyEqualsSeparateProducts) {
  ThreadPool pool(2);
  const int64_t cols = 37, tokens = 3;
  const StoredMatrix a = store(random_vector(11 * cols), 11, cols, DType::kBF16);
  const StoredMatrix b = store(random_vector(5 * cols), 5, cols, DType::kBF16);
  const std::vector<float> x = random_vector(tokens * cols);
  std::vector<float> ya(tokens * 11), yb(tokens * 5), ya_ref(tokens * 11), yb_ref(tokens * 5);
  const MatmulTarget targets[] = {{&a.view, ya.data(), 11}, {&b.view, yb.data(), 5}};
  matmul_many(targets, x.data(), tokens, pool);
  matmul(a.view, x.data(), tokens, ya_ref.data(), 11, pool);
  matmul(b.view, x.data(), tokens, yb_ref.data(), 5, pool);
  EXPECT_EQ(ya, ya_ref);
  EXPECT_EQ(yb, yb_ref);
}

TEST_P(KernelsTest, RmsNormAndLayerNorm) {
  for (int64_t dim : {1, 7, 64, 4097}) {
    const std::vector<float> x = random_vector(2 * dim, 3.0f);
    const std::vector<float> w = random_vector(dim);
    const std::vector<float> b = random_vector(dim);
    std::vector<float> rms(2 * dim), ln(2 * dim);
    rms_norm(x.data(), w.data(), 1e-5f, 2, dim, rms.data());
    layer_norm(x.data(), w.data(), b.data(), 1e-5f, 2, dim, ln.data());
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
    silu_mul(g.data(), u.data(), n, silu.data());
    gelu_tanh(g.data(), n, gelu.data());
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
    add(x.data(), n, y.data());
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], y0[i] + x[i]);
    double expected_sum = 0, magnitude = 0;
    for (float v : x) expected_sum += v, magnitude += std::abs(v);
    ASSERT_NEAR(sum(x.data(), n), expected_sum, 1e-6 * magnitude) << n;
  }
  std::vector<float> y(2 * 5, 1.0f);
  const float bias[3] = {1, 2, 3};
  add_bias(bias, 2, 3, 5, y.data());
  EXPECT_EQ(y, (std::vector<float>{2, 3, 4, 1, 1, 2, 3, 4, 1, 1}));
}

TEST_P(KernelsTest, RopeRotatesHalvesByPositionAngle) {
  const int64_t heads = 3, head_dim = 8, tokens = 2;
  std::vector<float> x = random_vector(tokens * heads * head_dim);
  const std::vector<float> x0 = x;
  const int32_t positions[tokens] = {0, 1000};
  const double inv_freq[4] = {1.0, 0.1, 0.01, 0.001};
  rope(x.data(), positions, tokens, heads, head_dim, inv_freq, 0.5);
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t h = 0; h < heads; ++h) {
      const float* in = x0.data() + (t * heads + h) * head_dim;
      const float* out = x.data() + (t * heads + h) * head_dim;
      for (int64_t i = 0; i < 4; ++i) {
        const double angle = positions[t] * 0.5 * inv_freq[i];
        ASSERT_NEAR(out[i], in[i] * std::cos(angle) - in[i + 4] * std::sin(angle), 1e-5);
        ASSERT_NEAR(out[i + 4], in[i + 4] * std::cos(angle) + in[i] * std::sin(angle), 1e-5);
      }
    }
  }
}

TEST_P(KernelsTest, AttentionCausalGroupedWindowed) {
  const int64_t heads = 4, kv_heads = 2, head_dim = 5, kv_len = 9, tokens = 3;
  for (int64_t window : {0, 4}) {
    ThreadPool pool(2);
    const std::vector<float> q = random_vector(tokens * heads * head_dim);
    const std::vector<float> k = random_vector(kv_len * kv_heads * head_dim);
    const std::vector<float> v = random_vector(kv_len * kv_heads * head_dim);
    const int32_t positions[tokens] = {6, 7, 8};
    std::vector<float> out(tokens * heads * head_dim);
    std::vector<float> scratch(2 * kv_len);
    const float scale = 1.0f / std::sqrt(float(head_dim));
    attention({q.data(), k.data(), v.data(), positions, tokens, heads, kv_heads, head_dim, window,
               scale, out.data(), scratch.data(), kv_len},
              pool);
    for (int64_t t = 0; t < tokens; ++t) {
      for (int64_t h = 0; h < heads; ++h) {
        const int64_t kvh = h / (heads / kv_heads);
        std::vector<double> p;
        std::vector<int64_t> keys;
        for (int64_t j = 0; j <= positions[t]; ++j) {
          if (window > 0 && positions[t] - j >= window) continue;
          double s = 0;
          for (int64_t d = 0; d < head_dim; ++d) {
            s += double(q[(t * heads + h) * head_dim + d]) * k[(j * kv_heads + kvh) * head_dim + d];
          }
          p.push_back(s * scale);
          keys.push_back(j);
        }
        double max_s = *std::max_element(p.begin(), p.end()), sum = 0;
        for (double& s : p) sum += (s = std::exp(s - max_s));
        for (int64_t d = 0; d < head_dim; ++d) {
          double expected = 0;
          for (size_t i = 0; i < keys.size(); ++i) {
            expected += p[i] / sum * v[(keys[i] * kv_heads + kvh) * head_dim + d];
          }
          ASSERT_NEAR(out[(t * heads + h) * head_dim + d], expected, 1e-5)
              << "window=" << window << " t=" << t << " h=" << h;
        }
      }
    }
  }
}

TEST_P(KernelsTest, EmbeddingConvertsRows) {
  const StoredMatrix table = store(random_vector(6 * 9), 6, 9, DType::kBF16);
  const int32_t ids[3] = {5, 0, 5};
  std::vector<float> out(3 * 9);
  embedding(table.view, ids, 3, out.data());
  for (int64_t t = 0; t < 3; ++t) {
    for (int64_t i = 0; i < 9; ++i) ASSERT_EQ(out[t * 9 + i], table.values[ids[t] * 9 + i]);
  }
}

TEST_P(KernelsTest, SoftmaxAndArgmax) {
  float x[4] = {1.0f, 3.0f, 3.0f, -2.0f};
  EXPECT_EQ(argmax(x, 4), 1);
  const double normalizer = 3.0 + std::log(std::exp(-2.0) + 2.0 + std::exp(-5.0));
  EXPECT_NEAR(softmax(x, 4), normalizer, 1e-6);
  EXPECT_NEAR(x[1], std::exp(0.0 - (normalizer - 3.0)), 1e-6);
  EXPECT_NEAR(x[0] + x[1] + x[2] + x[3], 1.0, 1e-6);
}

TEST_P(KernelsTest, FmaPeakProbeCountsItsOperations) {
  const double flops = fma_peak_probe(1000);
  // 2 FLOPs per lane per FMA, some whole number of vector lanes and chains.
  EXPECT_GE(flops, 2.0 * 1000 * 8);
  EXPECT_EQ(std::fmod(flops, 2.0 * 1000), 0.0);
}

INSTANTIATE_TEST_SUITE_P(AllVariants, KernelsTest, ::testing::ValuesIn(available_variants()),
                         [](const auto& info) { return info.param; });

TEST(KernelVariants, UnknownVariantIsRejectedWithTheList) {
  try {
    select_variant("avx9000");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("avx9000"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("generic"), std::string::npos);
  }
}

}  // namespace
}  // namespace localmoe::kernels
