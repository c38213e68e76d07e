#include "kernels/matmul_test_util.h"

#include <gtest/gtest.h>

#include <cstring>

namespace localmoe::kernels {

std::vector<float> random_vector(std::mt19937& rng, int64_t n, float scale) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

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
  m.weight = Weight::dense(m.view);
  return m;
}

std::vector<MatmulCase> matmul_cases() {
  std::vector<MatmulCase> cases = {{1, 1, 1},      {7, 7, 3},       {13, 4097, 5}, {64, 256, 1},
                                   {33, 100, 9},   {5, 31, 4},      {4, 16, 2},    {130, 65, 1},
                                   {9, 100, 1},    {3, 5000, 1},    {2, 40000, 1}, {211, 517, 17},
                                   {389, 33, 100}, {25, 1000, 512}, {1, 3, 16},    {300, 7, 2}};
  for (int64_t tokens : {1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 33, 64, 100, 512}) {
    cases.push_back({37, 300, tokens});
  }
  return cases;
}

double matmul_tolerance(double magnitude, bool rounds_x_to_bf16) {
  const double rounding = rounds_x_to_bf16 ? 0x1p-8 : 0.0;
  return (rounding + 2e-6) * magnitude + 1e-6;
}

}  // namespace localmoe::kernels
