// Fuzzes the tokenizer.json loader and the encode / decode / streaming
// paths. Input: a text to encode, a NUL byte, then the tokenizer.json
// content. Bad input must end in localmoe::Error, never in a crash or an
// LM_CHECK failure; whatever loads must round-trip through the detokenizer.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "localmoe/base/error.h"
#include "localmoe/tokenizer/detokenizer.h"
#include "localmoe/tokenizer/hf_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t split = input.find('\0');
  if (split == std::string_view::npos) return 0;
  const std::string_view text = input.substr(0, split);
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(input.substr(split + 1));
  } catch (const nlohmann::json::exception&) {
    return 0;
  }
  try {
    localmoe::TokenizerConfig config;
    config.tokenizer_class = "LlamaTokenizer";
    config.bos_token = "<s>";
    const auto tokenizer = localmoe::HfTokenizer::from_json(json, config, "fuzz.json");
    const auto ids = tokenizer->encode(text);
    localmoe::DecodeOptions options;
    options.clean_up_tokenization_spaces = false;
    const std::string full = tokenizer->decode(ids, options);
    localmoe::IncrementalDetokenizer detokenizer(*tokenizer);
    std::string streamed;
    for (int32_t id : ids) streamed += detokenizer.add(id);
    streamed += detokenizer.finish();
    LM_CHECK(streamed == full);
  } catch (const localmoe::Error&) {
  } catch (const nlohmann::json::exception&) {
  }
  return 0;
}
