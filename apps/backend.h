#pragma once
// What every command that runs a model starts from its configuration's
// `runtime:` section: logging at runtime.log_level (with the configuration's
// notices), the kernel variant of runtime.kernels and a thread pool of
// runtime.num_threads, announced in one log line.

#include "localmoe/base/thread_pool.h"
#include "localmoe/config/config_loader.h"
#include "localmoe/kernels/kernels.h"

namespace localmoe::apps {

class Backend {
 public:
  // Throws Error(kInvalidArgument) for a kernel variant this CPU cannot run.
  explicit Backend(const LoadedConfig& loaded);

  const kernels::Kernels& kernels() const { return kernels_; }
  ThreadPool& pool() { return pool_; }

 private:
  kernels::Kernels kernels_;
  ThreadPool pool_;
};

}  // namespace localmoe::apps
