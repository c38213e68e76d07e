#include "localmoe/model/mlp.h"

#include "localmoe/kernels/kernels.h"

namespace localmoe {

void Mlp::forward(const MlpWeights& w, const float* x, int64_t n, float* workspace, float* out,
                  const kernels::Kernels& k, ThreadPool& pool) const {
  float* up = workspace;                      // [n, intermediate]
  float* activated = up + n * intermediate_;  // [n, intermediate]
  if (activation_ == ActivationKind::kSilu) {
    float* gate = activated;
    const kernels::MatmulTarget projections[] = {{&w.gate.weight, gate, intermediate_},
                                                 {&w.up.weight, up, intermediate_}};
    k.matmul_many(projections, x, n, pool);
    if (w.gate.bias != nullptr) k.add_bias(w.gate.bias, n, intermediate_, intermediate_, gate);
    if (w.up.bias != nullptr) k.add_bias(w.up.bias, n, intermediate_, intermediate_, up);
    k.silu_mul(gate, up, n * intermediate_, activated);
  } else {
    k.matmul(w.up.weight, x, n, up, intermediate_, pool);
    if (w.up.bias != nullptr) k.add_bias(w.up.bias, n, intermediate_, intermediate_, up);
    k.gelu_tanh(up, n * intermediate_, activated);
  }
  k.matmul(w.down.weight, activated, n, out, hidden_, pool);
  if (w.down.bias != nullptr) k.add_bias(w.down.bias, n, hidden_, hidden_, out);
}

}  // namespace localmoe
