#pragma once
// The checks a loaded Config must pass before anything loads: ranges of
// single fields, agreement between fields, and agreement with the model
// (heads divisible by tensor_parallel_size, max_model_len within the model's
// limit, quantization matching the checkpoint, weights + activations + KV
// fitting the memory budget). Each finding names the key, the value and a fix.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "localmoe/config/config.h"
#include "localmoe/config/config_diagnostic.h"
#include "localmoe/config/config_loader.h"

namespace localmoe {

struct ValidationContext {
  // Where each key was written; keys not found here are reported at `fallback`.
  const std::map<std::string, SourceLocation>* sources = nullptr;
  SourceLocation fallback;
  // Keys whose values did not parse: checks involving them are skipped.
  std::set<std::string> failed_keys;
  ResolveModelFn resolve_model;
  ReadFileFn read_file;
  int64_t device_memory_bytes = 0;     // used when gpu.memory_limit_gb is 0
  int64_t runtime_overhead_bytes = 0;  // per device
};

// Errors and notices, in the order found.
std::vector<ConfigDiagnostic> validate_config(const Config& config,
                                              const ValidationContext& context);

// The block sizes the paged KV cache supports.
const std::vector<int64_t>& allowed_block_sizes();

}  // namespace localmoe
