#include "localmoe/moe/router.h"

#include "localmoe/base/error.h"
#include "localmoe/kernels/kernels.h"

namespace localmoe {

void route_top_k(const RouterOptions& options, float* logits, int64_t num_tokens, int32_t* experts,
                 float* weights, const kernels::Kernels& kernels) {
  const int64_t e = options.num_experts;
  const int64_t k = options.top_k;
  LM_CHECK(k >= 1 && k <= e);
  for (int64_t t = 0; t < num_tokens; ++t) {
    float* p = logits + t * e;
    kernels.softmax(p, e);
    int32_t* chosen = experts + t * k;
    float* chosen_weight = weights + t * k;
    // Selection by repeated maximum: k and e are small (2 of 8, 4 of 60).
    float kept = 0.0f;
    for (int64_t slot = 0; slot < k; ++slot) {
      int32_t best = -1;
      for (int32_t i = 0; i < e; ++i) {
        bool taken = false;
        for (int64_t s = 0; s < slot; ++s) taken |= chosen[s] == i;
        if (!taken && (best < 0 || p[i] > p[best])) best = i;
      }
      chosen[slot] = best;
      chosen_weight[slot] = p[best];
      kept += p[best];
    }
    if (options.renormalize) {
      for (int64_t slot = 0; slot < k; ++slot) chosen_weight[slot] /= kept;
    }
  }
}

}  // namespace localmoe
