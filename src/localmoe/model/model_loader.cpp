#include "localmoe/model/model_loader.h"

#include "localmoe/config/hf_config.h"
#include "localmoe/loader/checkpoint.h"

namespace localmoe {

std::unique_ptr<Transformer> load_transformer(const std::string& model_dir,
                                              int64_t max_batch_tokens, int64_t block_size,
                                              const kernels::Kernels& kernels, Allocator& allocator,
                                              ThreadPool& pool) {
  ModelConfig config = load_hf_config(model_dir);
  std::unique_ptr<TensorSource> source = open_checkpoint(model_dir);
  return std::make_unique<Transformer>(std::move(config), std::move(source), max_batch_tokens,
                                       block_size, kernels, allocator, pool);
}

}  // namespace localmoe
