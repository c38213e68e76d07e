// localmoe perplexity: the quality yardstick on held-out text, usable on any
// model (and on every quantized variant of one, to compare them).

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "localmoe/base/error.h"
#include "localmoe/base/logging.h"
#include "localmoe/engine/perplexity.h"
#include "localmoe/model/model_loader.h"
#include "localmoe/tokenizer/tokenizer.h"

namespace localmoe::apps {
namespace {

struct PerplexityOptions {
  std::string model;
  std::string file;
  int64_t context = 0;
  int threads = 0;
  int64_t max_batch_tokens = 256;
  bool json = false;
};

void run_perplexity(const PerplexityOptions& o) {
  init_logging("warn");
  std::ifstream in(o.file, std::ios::binary);
  if (!in) throw make_error(ErrorKind::kNotFound, "cannot open '", o.file, "'");
  std::ostringstream text;
  text << in.rdbuf();

  ThreadPool pool(o.threads);
  Allocator allocator;
  const auto model = load_transformer(o.model, o.max_batch_tokens, allocator, pool);
  const auto tokenizer = load_tokenizer(o.model);
  const std::vector<int32_t> tokens = tokenizer->encode(text.str(), /*add_special_tokens=*/true);
  const int64_t context = o.context > 0 ? o.context : model->config().max_position_embeddings;
  const PerplexityResult result = evaluate_perplexity(*model, tokens, context, allocator);

  if (o.json) {
    const nlohmann::json out = {
        {"model", o.model},          {"file", o.file},
        {"context", context},        {"tokens", tokens.size()},
        {"tokens_scored", result.tokens_scored},
        {"mean_nll", result.mean_nll()},
        {"perplexity", result.perplexity()},
        {"tokens_per_s", result.seconds > 0 ? tokens.size() / result.seconds : 0.0},
    };
    std::printf("%s\n", out.dump().c_str());
    return;
  }
  std::printf("perplexity %.4f (mean NLL %.5f nats over %lld tokens, context %lld)\n",
              result.perplexity(), result.mean_nll(),
              static_cast<long long>(result.tokens_scored), static_cast<long long>(context));
}

}  // namespace

void add_perplexity_command(CLI::App& app) {
  auto options = std::make_shared<PerplexityOptions>();
  CLI::App* cmd = app.add_subcommand("perplexity", "Perplexity of a model on a text file");
  cmd->add_option("--model", options->model, "Model directory (weights and tokenizer)")->required();
  cmd->add_option("--file", options->file, "UTF-8 text file")->required();
  cmd->add_option("--context", options->context,
                  "Window length in tokens (default: the model's context)");
  cmd->add_option("--threads", options->threads, "Threads (0 = one per core)");
  cmd->add_option("--max-batch-tokens", options->max_batch_tokens, "Forward chunk size")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--json", options->json, "Print one JSON object");
  cmd->callback([options] { run_perplexity(*options); });
}

}  // namespace localmoe::apps
