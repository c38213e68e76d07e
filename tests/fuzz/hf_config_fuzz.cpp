// Feeds arbitrary bytes through JSON parsing into parse_hf_config. Errors are
// expected; crashes, sanitizer reports and accepted configs that break the
// invariants the model code relies on are not.

#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "localmoe/base/error.h"
#include "localmoe/config/hf_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json j =
      nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  try {
    const localmoe::ModelConfig config = localmoe::parse_hf_config(j, "fuzz/config.json");
    LM_CHECK_GT(config.hidden_size, 0);
    LM_CHECK_GT(config.num_heads, 0);
    LM_CHECK_GT(config.num_kv_heads, 0);
    LM_CHECK_EQ(config.num_heads % config.num_kv_heads, 0);
    LM_CHECK_GT(config.head_dim, 0);
    LM_CHECK_GT(config.q_dim(), 0);
    LM_CHECK_LE(config.num_experts_per_token, config.num_experts);
  } catch (const localmoe::Error&) {
  }
  return 0;
}
