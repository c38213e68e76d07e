#pragma once
// Opens a model directory (config.json + safetensors) or a single
// safetensors file next to its config.json, and builds the Transformer.

#include <memory>
#include <string>

#include "localmoe/base/allocator.h"
#include "localmoe/base/thread_pool.h"
#include "localmoe/model/transformer.h"

namespace localmoe {

// Throws Error with the file and tensor in its context for any bad input.
std::unique_ptr<Transformer> load_transformer(const std::string& model_dir,
                                              int64_t max_batch_tokens, int64_t block_size,
                                              const kernels::Kernels& kernels, Allocator& allocator,
                                              ThreadPool& pool);

}  // namespace localmoe
