// localmoe generate: one prompt through one model, for scripts, debugging and
// benchmarks. --json prints a single object with the ids and timings.

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend.h"
#include "commands.h"
#include "localmoe/base/error.h"
#include "localmoe/config/cli_options.h"
#include "localmoe/engine/generator.h"
#include "localmoe/model/model_loader.h"
#include "localmoe/tokenizer/chat_template.h"
#include "localmoe/tokenizer/tokenizer.h"

namespace localmoe::apps {
namespace {

// The engine, model and runtime settings come from the configuration
// (--config, --set and the model flags); the rest is this command's own.
struct GenerateOptions {
  ConfigArgs config;
  std::string prompt_ids;
  std::string prompt;
  std::string chat_file;
  int64_t max_tokens = 32;
  float temperature = 0.0f;
  int64_t top_k = 0;
  float top_p = 1.0f;
  std::optional<uint64_t> seed;
  bool ignore_eos = false;
  bool json = false;
};

std::vector<int32_t> parse_ids(const std::string& text) {
  std::vector<int32_t> ids;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = text.find(',', pos);
    const std::string item =
        text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t used = 0;
    long value = 0;
    try {
      value = std::stol(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || value < 0 || value > INT32_MAX) {
      throw make_error(ErrorKind::kInvalidArgument, "--prompt-ids: '", item,
                       "' is not a token id (expected comma-separated non-negative integers)");
    }
    ids.push_back(static_cast<int32_t>(value));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return ids;
}

// The prompt's token ids from exactly one of --prompt-ids, --prompt and
// --chat; `tokenizer` is loaded only when text is involved.
std::vector<int32_t> prompt_tokens(const GenerateOptions& o, const Tokenizer* tokenizer) {
  if (!o.prompt_ids.empty()) return parse_ids(o.prompt_ids);
  if (!o.prompt.empty()) return tokenizer->encode(o.prompt, /*add_special_tokens=*/true);
  std::ifstream in(o.chat_file);
  if (!in) throw make_error(ErrorKind::kNotFound, "cannot open '", o.chat_file, "'");
  nlohmann::ordered_json messages;
  try {
    messages = nlohmann::ordered_json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw make_error(ErrorKind::kInvalidArgument, "'", o.chat_file, "' is not JSON: ", e.what());
  }
  if (messages.is_object() && messages.contains("messages")) messages = messages["messages"];
  if (!messages.is_array()) {
    throw make_error(ErrorKind::kInvalidArgument, "'", o.chat_file,
                     "' must hold an array of {\"role\", \"content\"} messages");
  }
  const std::string rendered =
      ChatTemplate::for_tokenizer(*tokenizer).render(messages, /*add_generation_prompt=*/true);
  // The template already wrote BOS and the other special tokens.
  return tokenizer->encode(rendered, /*add_special_tokens=*/false);
}

void run_generate(const GenerateOptions& o) {
  const LoadedConfig loaded = o.config.load();
  const EngineConfig& engine = loaded.config.engine;
  Backend backend(loaded);

  const int sources = !o.prompt_ids.empty() + !o.prompt.empty() + !o.chat_file.empty();
  if (sources != 1) {
    throw make_error(ErrorKind::kInvalidArgument,
                     "give exactly one of --prompt-ids, --prompt and --chat");
  }
  const std::unique_ptr<Tokenizer> tokenizer =
      o.prompt_ids.empty() ? load_tokenizer(engine.model_name) : nullptr;
  const std::vector<int32_t> prompt = prompt_tokens(o, tokenizer.get());
  SamplingParams params;
  params.temperature = o.temperature;
  params.top_k = o.top_k;
  params.top_p = o.top_p;
  params.seed = o.seed;
  params.max_tokens = o.max_tokens;
  params.ignore_eos = o.ignore_eos;
  params.validate();

  Allocator allocator;
  const auto load_start = std::chrono::steady_clock::now();
  const auto model =
      load_transformer(engine.model_name, engine.max_num_batched_tokens, engine.block_size,
                       backend.kernels(), allocator, backend.pool());
  const double load_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();

  Generator generator(*model, allocator);
  const GenerationResult result = generator.generate(prompt, params);

  DecodeOptions decode_options;
  decode_options.skip_special_tokens = true;
  const std::string text =
      tokenizer ? tokenizer->decode(result.token_ids, decode_options) : std::string();
  if (o.json) {
    nlohmann::json out = {
        {"model", engine.model_name},
        {"prompt_tokens", result.prompt_tokens},
        {"token_ids", result.token_ids},
        {"finish_reason", result.finish_reason},
        {"timings",
         {{"load_s", load_seconds},
          {"prefill_tokens_per_s", result.prefill_tokens_per_second()},
          {"decode_tokens_per_s", result.decode_tokens_per_second()}}},
    };
    if (tokenizer) out["text"] = text;
    std::printf("%s\n", out.dump().c_str());
    return;
  }
  if (tokenizer) {
    std::printf("%s\n", text.c_str());
  } else {
    std::string ids;
    for (int32_t id : result.token_ids) ids += (ids.empty() ? "" : " ") + std::to_string(id);
    std::printf("%s\n", ids.c_str());
  }
  std::fflush(stdout);  // the text before the statistics when both go to one pipe
  std::fprintf(stderr,
               "%zu tokens (%s); load %.2f s, prefill %.1f tokens/s, decode %.2f tokens/s\n",
               result.token_ids.size(), result.finish_reason.c_str(), load_seconds,
               result.prefill_tokens_per_second(), result.decode_tokens_per_second());
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto options = std::make_shared<GenerateOptions>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate tokens from a prompt with one model");
  add_config_options(*cmd, options->config, model_flags());
  cmd->add_option("--prompt-ids", options->prompt_ids, "Prompt as comma-separated token ids");
  cmd->add_option("--prompt", options->prompt, "Prompt text, encoded with the model's tokenizer");
  cmd->add_option("--chat", options->chat_file,
                  "JSON file of chat messages, rendered with the model's chat template")
      ->check(CLI::ExistingFile);
  cmd->add_option("-n,--max-tokens", options->max_tokens, "New tokens at most")
      ->check(at_least(1))
      ->capture_default_str();
  cmd->add_option("--temperature", options->temperature, "0 = greedy")
      ->check(in_range(0, kMaxTemperature))
      ->capture_default_str();
  cmd->add_option("--top-k", options->top_k, "Keep the k most likely tokens (0 = all)")
      ->check(at_least(0))
      ->capture_default_str();
  cmd->add_option("--top-p", options->top_p, "Nucleus sampling mass, in (0, 1]")
      ->check(in_range(0, 1))
      ->capture_default_str();
  cmd->add_option("--seed", options->seed, "Seed for reproducible sampling (default: random)");
  cmd->add_flag("--ignore-eos", options->ignore_eos, "Do not stop at end-of-sequence tokens");
  cmd->add_flag("--json", options->json,
                "Print one JSON object with token_ids, text (with a tokenizer) and timings");
  cmd->callback([options] { run_generate(*options); });
}

}  // namespace localmoe::apps
