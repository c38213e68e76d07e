#pragma once
// The demo model's own tokenizer (models/demo, with its ChatML template),
// loaded once per test binary: what the server tests read prompts with.

#include <memory>
#include <string>

#include "localmoe/tokenizer/tokenizer.h"

namespace localmoe::testing {

inline const Tokenizer& demo_tokenizer() {
  static const std::unique_ptr<Tokenizer> tokenizer =
      load_tokenizer(std::string(LOCALMOE_SOURCE_DIR) + "/models/demo");
  return *tokenizer;
}

}  // namespace localmoe::testing
