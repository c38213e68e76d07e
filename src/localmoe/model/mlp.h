#pragma once
// The feed-forward block: SwiGLU (Llama, Mistral) or GELU (GPT-2), chosen
// once from the ModelConfig.

#include <cstdint>

#include "localmoe/base/thread_pool.h"
#include "localmoe/config/model_config.h"
#include "localmoe/kernels/kernels.h"
#include "localmoe/model/weights.h"

namespace localmoe {

class Mlp {
 public:
  explicit Mlp(const ModelConfig& config)
      : hidden_(config.hidden_size),
        intermediate_(config.intermediate_size),
        activation_(config.activation) {}

  static int64_t workspace_floats(const ModelConfig& config, int64_t max_tokens) {
    return 2 * max_tokens * config.intermediate_size;
  }

  // x: [n, hidden] normalized input; out: [n, hidden].
  void forward(const MlpWeights& w, const float* x, int64_t n, float* workspace, float* out,
               const kernels::Kernels& k, ThreadPool& pool) const;

 private:
  int64_t hidden_;
  int64_t intermediate_;
  ActivationKind activation_;
};

}  // namespace localmoe
