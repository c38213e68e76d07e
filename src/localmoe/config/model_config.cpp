#include "localmoe/config/model_config.h"

namespace localmoe {

std::string_view model_arch_name(ModelArch arch) {
  switch (arch) {
    case ModelArch::kLlama: return "LlamaForCausalLM";
    case ModelArch::kMistral: return "MistralForCausalLM";
    case ModelArch::kMixtral: return "MixtralForCausalLM";
    case ModelArch::kGpt2: return "GPT2LMHeadModel";
  }
  return "unknown";
}

}  // namespace localmoe
