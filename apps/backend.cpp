#include "backend.h"

#include "localmoe/base/cpu_features.h"
#include "localmoe/base/logging.h"

namespace localmoe::apps {

Backend::Backend(const LoadedConfig& loaded)
    : kernels_(kernels::Kernels::select(loaded.config.runtime.kernels)),
      pool_(static_cast<int>(loaded.config.runtime.num_threads)) {
  init_logging(loaded.config.runtime.log_level);
  for (const ConfigDiagnostic& notice : loaded.notices) log_info(notice.to_string());
  log_info("cpu: ", cpu_features().describe(), "; kernels: ", kernels_.name(),
           "; threads: ", pool_.num_threads());
}

}  // namespace localmoe::apps
