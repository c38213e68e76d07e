#pragma once
// Shared by the kernel tests: weights stored in a dense dtype with their
// exact values, the matrix-product shapes, and the tolerance a product is
// held to.

#include <cstdint>
#include <random>
#include <vector>

#include "localmoe/base/dtype.h"
#include "localmoe/base/tensor.h"
#include "localmoe/kernels/weight.h"

namespace localmoe::kernels {

// n values drawn from N(0, scale^2).
std::vector<float> random_vector(std::mt19937& rng, int64_t n, float scale = 1.0f);

// Weights stored in `dtype` and their exact f32 values.
struct StoredMatrix {
  std::vector<uint8_t> bytes;
  std::vector<double> values;  // [rows, cols]
  TensorView view;
  Weight weight;
};

StoredMatrix store(const std::vector<float>& w, int64_t rows, int64_t cols, DType dtype);

struct MatmulCase {
  int64_t rows, cols, tokens;
};

// Shapes for the matrix-vector product (one token) and for the GEMM: every
// token count around its vector and block sizes, odd row counts (tile
// tails), feature counts across its feature blocks, and row counts that span
// several work items and row blocks.
std::vector<MatmulCase> matmul_cases();

// How far a product may be from its float64 definition, given magnitude =
// sum_k |x_k w_k| of the stored values: f32 sums (2e-6 relative covers
// their rounding over a few thousand features), and where x is rounded to
// BF16 first, up to half a BF16 unit in the last place, 2^-8 |x_k|, on each
// activation.
double matmul_tolerance(double magnitude, bool rounds_x_to_bf16);

}  // namespace localmoe::kernels
