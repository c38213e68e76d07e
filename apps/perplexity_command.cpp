// localmoe perplexity: the quality yardstick on held-out text, usable on any
// model (and on every quantized variant of one, to compare them). With
// --routing-stats it also reports, for MoE models, how the text was routed:
// per-layer expert usage and entropy, and the hit rate an LRU expert cache
// would see at the given memory budgets.

#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend.h"
#include "commands.h"
#include "localmoe/base/error.h"
#include "localmoe/config/cli_options.h"
#include "localmoe/engine/perplexity.h"
#include "localmoe/model/model_loader.h"
#include "localmoe/moe/routing_stats.h"
#include "localmoe/tokenizer/tokenizer.h"

namespace localmoe::apps {
namespace {

// The model and runtime settings come from the configuration (--config,
// --set and the model flags); the rest is this command's own.
struct PerplexityOptions {
  ConfigArgs config;
  std::string file;
  int64_t context = 0;
  bool json = false;
  bool routing_stats = false;
  std::vector<double> expert_budgets = {0.5, 0.25};
};

struct RoutingReport {
  std::vector<ExpertUsage> usage;
  std::vector<ExpertCacheReplay> replays;  // one per budget
};

nlohmann::json routing_json(const RoutingReport& report) {
  nlohmann::json layers = nlohmann::json::array();
  for (size_t layer = 0; layer < report.usage.size(); ++layer) {
    const ExpertUsage& usage = report.usage[layer];
    // In the order of the "lru" entries (one per budget).
    std::vector<double> hit_rates;
    for (const ExpertCacheReplay& replay : report.replays) {
      hit_rates.push_back(replay.layer_hit_rate(static_cast<int64_t>(layer)));
    }
    layers.push_back({{"layer", layer},
                      {"entropy_bits", usage.entropy_bits},
                      {"normalized_entropy", usage.normalized_entropy},
                      {"usage", usage.shares()},
                      {"lru_hit_rate", hit_rates}});
  }
  nlohmann::json lru = nlohmann::json::array();
  for (const ExpertCacheReplay& replay : report.replays) {
    lru.push_back({{"budget", replay.budget_fraction},
                   {"capacity_experts", replay.capacity},
                   {"accesses", replay.accesses},
                   {"hit_rate", replay.hit_rate()}});
  }
  return {{"layers", layers}, {"lru", lru}};
}

void print_routing(const RoutingReport& report) {
  std::printf("\nrouting: per-layer expert usage (share of routed slots) and LRU hit rate\n");
  std::printf("%5s %8s %6s  %-*s", "layer", "entropy", "norm",
              static_cast<int>(report.usage.front().routed.size() * 5), "usage %");
  for (const ExpertCacheReplay& replay : report.replays) {
    std::printf("  hit@%3.0f%%", replay.budget_fraction * 100);
  }
  std::printf("\n");
  for (size_t layer = 0; layer < report.usage.size(); ++layer) {
    const ExpertUsage& usage = report.usage[layer];
    std::printf("%5zu %8.3f %6.3f  ", layer, usage.entropy_bits, usage.normalized_entropy);
    for (double share : usage.shares()) std::printf("%4.0f ", 100.0 * share);
    for (const ExpertCacheReplay& replay : report.replays) {
      std::printf("  %7.1f%%", 100 * replay.layer_hit_rate(static_cast<int64_t>(layer)));
    }
    std::printf("\n");
  }
  for (const ExpertCacheReplay& replay : report.replays) {
    std::printf(
        "LRU expert cache at %.0f%% of experts (%lld resident): hit rate %.1f%% over %lld "
        "lookups\n",
        replay.budget_fraction * 100, static_cast<long long>(replay.capacity),
        100 * replay.hit_rate(), static_cast<long long>(replay.accesses));
  }
}

void run_perplexity(const PerplexityOptions& o) {
  const LoadedConfig loaded = o.config.load();
  const EngineConfig& engine = loaded.config.engine;
  Backend backend(loaded);
  std::ifstream in(o.file, std::ios::binary);
  if (!in) throw make_error(ErrorKind::kNotFound, "cannot open '", o.file, "'");
  std::ostringstream text;
  text << in.rdbuf();

  Allocator allocator;
  const auto model =
      load_transformer(engine.model_name, engine.max_num_batched_tokens, engine.block_size,
                       backend.kernels(), allocator, backend.pool());
  const auto tokenizer = load_tokenizer(engine.model_name);
  const std::vector<int32_t> tokens = tokenizer->encode(text.str(), /*add_special_tokens=*/true);
  const int64_t context = o.context > 0 ? o.context : model->config().max_position_embeddings;
  const ModelConfig& config = model->config();
  std::optional<RoutingTrace> trace;
  if (o.routing_stats) {
    if (!config.is_moe()) {
      throw make_error(ErrorKind::kInvalidArgument, "--routing-stats: ", config.arch_name,
                       " has no mixture-of-experts layers");
    }
    trace.emplace(config.num_layers, config.num_experts, config.num_experts_per_token);
    model->set_routing_trace(&*trace);
  }
  const PerplexityResult result = evaluate_perplexity(*model, tokens, context, allocator);
  std::optional<RoutingReport> routing;
  if (trace) {
    routing.emplace();
    routing->usage = expert_usage(*trace);
    for (double budget : o.expert_budgets) {
      routing->replays.push_back(replay_lru_expert_cache(*trace, budget));
    }
  }

  if (o.json) {
    nlohmann::json out = {
        {"model", engine.model_name},
        {"file", o.file},
        {"context", context},
        {"tokens", tokens.size()},
        {"tokens_scored", result.tokens_scored},
        {"mean_nll", result.mean_nll()},
        {"perplexity", result.perplexity()},
        {"tokens_per_s", result.seconds > 0 ? tokens.size() / result.seconds : 0.0},
    };
    if (routing) out["routing"] = routing_json(*routing);
    std::printf("%s\n", out.dump().c_str());
    return;
  }
  std::printf("perplexity %.4f (mean NLL %.5f nats over %lld tokens, context %lld)\n",
              result.perplexity(), result.mean_nll(), static_cast<long long>(result.tokens_scored),
              static_cast<long long>(context));
  if (routing) print_routing(*routing);
}

}  // namespace

void add_perplexity_command(CLI::App& app) {
  auto options = std::make_shared<PerplexityOptions>();
  CLI::App* cmd = app.add_subcommand("perplexity", "Perplexity of a model on a text file");
  add_config_options(*cmd, options->config, model_flags());
  cmd->add_option("--file", options->file, "UTF-8 text file")->required();
  cmd->add_option("--context", options->context,
                  "Window length in tokens, at least 2 (default: the model's context)")
      ->check(at_least(0));
  cmd->add_flag("--json", options->json, "Print one JSON object");
  cmd->add_flag("--routing-stats", options->routing_stats,
                "MoE models: per-layer expert usage, entropy and LRU expert-cache hit rates");
  cmd->add_option("--expert-budgets", options->expert_budgets,
                  "Expert-cache budgets for --routing-stats, as fractions of all experts")
      ->delimiter(',')
      ->check(in_range(0, 1))
      ->capture_default_str();
  cmd->callback([options] { run_perplexity(*options); });
}

}  // namespace localmoe::apps
