// Fuzzes the chat template parser and interpreter: the input is a template
// source, rendered over a fixed conversation. Errors must be
// localmoe::Error; nothing may crash, hang or exhaust the stack.

#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "localmoe/base/error.h"
#include "localmoe/tokenizer/chat_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto messages = nlohmann::ordered_json::parse(R"([
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi \u4e2d"},
    {"role": "assistant", "content": "  Hello!  ", "tool_calls": [{"function": {"name": "f", "arguments": {"x": 1}}}]},
    {"role": "user", "content": "Bye"}])");
  static const auto extra = nlohmann::ordered_json::parse(
      R"({"tools": [{"type": "function", "function": {"name": "f"}}]})");
  const std::string source(reinterpret_cast<const char*>(data), size);
  localmoe::TokenizerConfig config;
  config.bos_token = "<s>";
  config.eos_token = "</s>";
  try {
    const localmoe::ChatTemplate chat(source, config);
    const std::string out = chat.render(messages, true, extra);
    (void)out;
  } catch (const localmoe::Error&) {
  }
  return 0;
}
