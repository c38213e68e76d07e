#pragma once
// A sparse mixture-of-experts feed-forward block (Mixtral): route each token
// to its top-k experts, group the tokens by expert so each expert runs one
// batched gated MLP over its rows, then scatter-add the weighted outputs.
// Each expert's weights are therefore read at most once per forward pass.

#include <cstdint>

#include "localmoe/base/thread_pool.h"
#include "localmoe/config/model_config.h"
#include "localmoe/model/mlp.h"
#include "localmoe/model/weights.h"
#include "localmoe/moe/router.h"
#include "localmoe/moe/routing_trace.h"

namespace localmoe {

class MoeBlock {
 public:
  explicit MoeBlock(const ModelConfig& config);

  static int64_t workspace_floats(const ModelConfig& config, int64_t max_tokens);

  // x: [n, hidden] normalized input; out: [n, hidden]. When `trace` is set,
  // the experts chosen for the n tokens are appended to its `layer` record.
  void forward(const MoeWeights& w, const float* x, int64_t n, float* workspace, float* out,
               const kernels::Kernels& k, ThreadPool& pool, RoutingTrace* trace = nullptr,
               int64_t layer = 0) const;

 private:
  int64_t hidden_;
  RouterOptions router_;
  Mlp expert_mlp_;
};

}  // namespace localmoe
