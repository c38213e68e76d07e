// Chat template conformance: renders every case written by
// chat_templates/make_golden.py (Python's jinja2 in transformers'
// environment) with our interpreter and compares byte for byte. Cases where
// the template raises must raise here too, with the same message for
// raise_exception(). Prints "N passed, N failed"; exits 1 on any failure.
//
// usage: chat_template_golden TEMPLATE_DIR GOLDEN.json

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "localmoe/base/error.h"
#include "localmoe/tokenizer/chat_template.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s TEMPLATE_DIR GOLDEN.json\n", argv[0]);
    return 2;
  }
  std::ifstream golden_file(argv[2]);
  if (!golden_file) {
    std::fprintf(stderr, "cannot open %s\n", argv[2]);
    return 1;
  }
  const auto cases = nlohmann::ordered_json::parse(golden_file);
  long passed = 0, failed = 0;
  for (const auto& c : cases) {
    const std::string name = c.at("template");
    std::ifstream in(std::string(argv[1]) + "/" + name + ".jinja", std::ios::binary);
    const std::string source((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
    localmoe::TokenizerConfig config;
    if (c.at("bos_token").is_string()) config.bos_token = c["bos_token"].get<std::string>();
    if (c.at("eos_token").is_string()) config.eos_token = c["eos_token"].get<std::string>();
    std::string got;
    std::string error;
    try {
      const localmoe::ChatTemplate chat(source, config);
      got = chat.render(c.at("messages"), c.at("add_generation_prompt").get<bool>(), c.at("extra"));
    } catch (const localmoe::Error& e) {
      error = e.what();
    }
    bool ok;
    if (c.contains("error")) {
      ok = !error.empty() && error.find(c["error"].get<std::string>()) != std::string::npos;
    } else {
      ok = error.empty() && got == c.at("output").get<std::string>();
    }
    if (ok) {
      ++passed;
      continue;
    }
    ++failed;
    std::printf("FAILED %s / %s / add_generation_prompt=%d\n", name.c_str(),
                c.at("conversation").get<std::string>().c_str(),
                c.at("add_generation_prompt").get<bool>() ? 1 : 0);
    std::printf("  ours:     %s\n", error.empty() ? nlohmann::ordered_json(got).dump().c_str()
                                                  : ("error: " + error).c_str());
    std::printf("  expected: %s\n",
                c.contains("error") ? ("error containing: " + c["error"].get<std::string>()).c_str()
                                    : c.at("output").dump().c_str());
  }
  std::printf("%ld passed, %ld failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
