// Tokenizer benchmark on the conformance corpus and the real vocabularies
// that tests/tokenizer/conformance/setup.sh prepares:
//   - encode throughput (MB/s of UTF-8 input), ours against transformers.js
//     (bench.mjs run under node) on the same strings, warm BPE caches on
//     both sides;
//   - incremental detokenization: cost per streamed token, against a full
//     decode of one token.
// usage: tokenizer_bench CONFORMANCE_DIR   (the build tree's tokenizer_conformance/)

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "localmoe/base/error.h"
#include "localmoe/tokenizer/detokenizer.h"
#include "localmoe/tokenizer/tokenizer.h"
#include "tokenizer/conformance_corpus.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

nlohmann::json run_transformers_js(const std::string& dir) {
  const std::string command = "cd '" + dir + "' && node bench.mjs corpus.jsonl reference";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return nullptr;
  std::string output;
  char buf[4096];
  while (std::fgets(buf, sizeof(buf), pipe) != nullptr) output += buf;
  if (pclose(pipe) != 0) return nullptr;
  try {
    return nlohmann::json::parse(output);
  } catch (const nlohmann::json::exception&) {
    return nullptr;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CONFORMANCE_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  try {
    if (!std::ifstream(dir + "/corpus.jsonl")) {
      throw localmoe::make_error(localmoe::ErrorKind::kIo, "no corpus in '", dir,
                                 "': run ctest -R tokenizer_conformance first");
    }
    const std::vector<std::string> texts =
        localmoe::conformance::read_corpus(dir + "/corpus.jsonl");
    std::size_t bytes = 0;
    for (const std::string& text : texts) bytes += text.size();
    std::printf("corpus: %zu strings, %.2f MB\n", texts.size(), bytes / 1e6);
    const nlohmann::json js = run_transformers_js(dir);
    if (js.is_null())
      std::printf("transformers.js: not measured (node or bench.mjs unavailable)\n");
    std::printf("%-13s %10s %10s %10s %7s %14s %15s\n", "vocab", "cold MB/s", "warm MB/s",
                "t.js MB/s", "ratio", "stream ns/tok", "decode1 ns/tok");
    for (const char* name : {"llama2", "lenml-llama2", "mistral", "llama3", "qwen3", "gpt2"}) {
      const auto tokenizer = localmoe::load_tokenizer(dir + "/reference/" + name);
      std::vector<std::vector<int32_t>> encoded;
      auto start = Clock::now();
      for (const auto& t : texts) encoded.push_back(tokenizer->encode(t));
      const double cold = bytes / seconds_since(start) / 1e6;
      constexpr int kPasses = 3;
      start = Clock::now();
      std::size_t sink = 0;
      for (int p = 0; p < kPasses; ++p)
        for (const auto& t : texts) sink += tokenizer->encode(t).size();
      const double warm = bytes * kPasses / seconds_since(start) / 1e6;

      std::size_t tokens = 0, streamed_bytes = 0;
      start = Clock::now();
      for (const auto& ids : encoded) {
        localmoe::IncrementalDetokenizer detokenizer(*tokenizer);
        for (int32_t id : ids) streamed_bytes += detokenizer.add(id).size();
        streamed_bytes += detokenizer.finish().size();
        tokens += ids.size();
      }
      const double stream_ns = seconds_since(start) * 1e9 / static_cast<double>(tokens);
      start = Clock::now();
      for (const auto& ids : encoded)
        for (int32_t id : ids) streamed_bytes += tokenizer->decode(std::span(&id, 1)).size();
      const double decode1_ns = seconds_since(start) * 1e9 / static_cast<double>(tokens);

      const double theirs = js.is_object() && js.contains(name) ? js[name].get<double>() : 0.0;
      std::printf("%-13s %10.2f %10.2f %10.2f %6.1fx %14.0f %15.0f\n", name, cold, warm, theirs,
                  theirs > 0 ? warm / theirs : 0.0, stream_ns, decode1_ns);
      if (sink == 0 || streamed_bytes == 0) return 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
