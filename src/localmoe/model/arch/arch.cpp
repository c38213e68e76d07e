#include "localmoe/model/arch/arch.h"

#include "localmoe/base/error.h"

namespace localmoe {

void bind_weights(const ModelConfig& config, WeightBinder& binder, TransformerWeights& out) {
  switch (config.arch) {
    case ModelArch::kLlama:
    case ModelArch::kMistral:
    case ModelArch::kMixtral: return bind_llama_weights(config, binder, out);
    case ModelArch::kGpt2: return bind_gpt2_weights(config, binder, out);
  }
  LM_CHECK(false && "unhandled ModelArch");
}

}  // namespace localmoe
