#pragma once
// Text forms of a Config, both driven by the visit_fields lists: the YAML
// dump (start-up log, `advise --format yaml`, which `serve` reads back) and
// the field reference (`localmoe validate --fields`).

#include <string>

#include "localmoe/config/config.h"

namespace localmoe {

// Every section and field as YAML. Instances list only what differs from
// `engine:`. With `redact_secrets`, server.api_key prints as "<redacted>".
std::string config_to_yaml(const Config& config, bool redact_secrets);

// One line per key: "engine.block_size  int  16  tokens per KV block ...".
std::string describe_config_fields();

}  // namespace localmoe
