#include "localmoe/config/config.h"

namespace localmoe {

std::vector<InstanceConfig> Config::served_instances() const {
  if (!instances.empty()) return instances;
  InstanceConfig only;
  only.engine = engine;
  return {only};
}

}  // namespace localmoe
