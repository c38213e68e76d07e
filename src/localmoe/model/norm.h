#pragma once
// RMSNorm or LayerNorm, chosen once from the ModelConfig.

#include <cstdint>

#include "localmoe/config/model_config.h"
#include "localmoe/kernels/kernels.h"
#include "localmoe/model/weights.h"

namespace localmoe {

class Norm {
 public:
  explicit Norm(const ModelConfig& config) : kind_(config.norm), eps_(config.norm_eps) {}

  // out[r, :] = norm(x[r, :]) for r < rows.
  void apply(const NormWeights& w, const float* x, int64_t rows, int64_t dim, float* out,
             const kernels::Kernels& k) const {
    if (kind_ == NormKind::kRmsNorm) {
      k.rms_norm(x, w.weight, eps_, rows, dim, out);
    } else {
      k.layer_norm(x, w.weight, w.bias, eps_, rows, dim, out);
    }
  }

 private:
  NormKind kind_;
  float eps_;
};

}  // namespace localmoe
