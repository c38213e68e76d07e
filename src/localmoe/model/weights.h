#pragma once
// The parameters of a transformer, bound once by name from a TensorSource.
// Matrices are views in their stored dtype (zero-copy when the stored layout
// is the compute layout); small vectors (norms, biases) and re-laid-out
// matrices (GPT-2's Conv1D) are repacked once at load into buffers the
// weights own.

#include <string>
#include <string_view>
#include <vector>

#include "localmoe/base/allocator.h"
#include "localmoe/base/tensor.h"
#include "localmoe/kernels/weight.h"
#include "localmoe/loader/tensor_source.h"

namespace localmoe {

// y = x W^T (+ bias). weight: [out_features, in_features].
struct LinearWeights {
  kernels::Weight weight;
  const float* bias = nullptr;  // [out_features] or none
};

// RMSNorm has no bias; LayerNorm has one.
struct NormWeights {
  const float* weight = nullptr;  // [dim]
  const float* bias = nullptr;    // [dim] or none
};

struct AttentionWeights {
  LinearWeights q;  // [num_heads * head_dim, hidden]
  LinearWeights k;  // [num_kv_heads * head_dim, hidden]
  LinearWeights v;  // [num_kv_heads * head_dim, hidden]
  LinearWeights o;  // [hidden, num_heads * head_dim]
};

// Gated (SwiGLU): down(act(gate x) * up x). Plain (GPT-2): down(act(up x)),
// with `gate` empty.
struct MlpWeights {
  LinearWeights gate;  // [intermediate, hidden] or empty
  LinearWeights up;    // [intermediate, hidden]
  LinearWeights down;  // [hidden, intermediate]
};

// A sparse MoE feed-forward block: a router and gated experts.
struct MoeWeights {
  LinearWeights router;             // [num_experts, hidden]
  std::vector<MlpWeights> experts;  // each gated, [intermediate, hidden] / [hidden, intermediate]
};

struct LayerWeights {
  NormWeights attention_norm;
  AttentionWeights attention;
  NormWeights mlp_norm;
  MlpWeights mlp;  // dense models
  MoeWeights moe;  // MoE models (then `mlp` is empty)
};

struct TransformerWeights {
  TensorView token_embedding;     // [vocab, hidden]
  TensorView position_embedding;  // [max_positions, hidden], learned positions only
  std::vector<LayerWeights> layers;
  NormWeights final_norm;
  LinearWeights lm_head;                // [vocab, hidden]; may alias token_embedding
  std::vector<AlignedBuffer> repacked;  // owns what the views above point into
};

// Looks tensors up by full name, checks dtype and shape, and repacks where
// needed. Every error names the tensor and the source.
class WeightBinder {
 public:
  WeightBinder(const TensorSource& source, Allocator& allocator, TransformerWeights& weights)
      : source_(source), allocator_(allocator), weights_(weights) {}

  bool has(std::string_view name) const { return source_.find(name) != nullptr; }

  // A [rows, cols] matrix in F32, F16 or BF16, used as stored.
  TensorView matrix(std::string_view name, int64_t rows, int64_t cols);
  // A matrix stored transposed, [cols, rows] (GPT-2's Conv1D), repacked to
  // [rows, cols] in its dtype.
  kernels::Weight matrix_transposed(std::string_view name, int64_t rows, int64_t cols);
  // A [size] vector converted to f32.
  const float* vector(std::string_view name, int64_t size);
  const float* optional_vector(std::string_view name, int64_t size) {
    return has(name) ? vector(name, size) : nullptr;
  }
  // A [rows, cols] matrix as a weight in its stored format.
  kernels::Weight linear(std::string_view name, int64_t rows, int64_t cols) {
    return kernels::Weight::dense(matrix(name, rows, cols));
  }

 private:
  const TensorInfo& require(std::string_view name) const;
  void check_shape(const TensorInfo& info, const Shape& expected) const;

  const TensorSource& source_;
  Allocator& allocator_;
  TransformerWeights& weights_;
};

}  // namespace localmoe
